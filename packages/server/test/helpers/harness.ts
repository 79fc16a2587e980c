import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createToken, openStorage, startServer, type RingmasterServer, type ServerOptions, type Storage } from '../../src/index.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** One throwaway PostgreSQL cluster per test file, started lazily and stopped in afterAll. */
export function useBackends() {
  let pg: TestPostgres | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    /** Storage options for a fresh, empty database of that backend. */
    async options(backend: Backend): Promise<{ dataDir?: string; databaseUrl?: string }> {
      if (backend === 'postgres') return { databaseUrl: await pg!.createDatabase() };
      const dir = mkdtempSync(join(tmpdir(), 'ringmaster-sqlite-'));
      dirs.push(dir);
      return { dataDir: dir };
    },
    async storage(backend: Backend): Promise<Storage> {
      return openStorage(await this.options(backend));
    },
  };
}

export interface TestServer {
  url: string;
  storage: Storage;
  admin: string;
  /** The API contract as the server installed it. */
  contract: RingmasterServer['contract'];
  close(): Promise<void>;
  /** fetch against the server with JSON in and out. */
  call(method: string, path: string, options?: { body?: unknown; token?: string | null; headers?: Record<string, string>; raw?: string | Buffer }): Promise<{ status: number; body: any; headers: Headers }>;
  token(role: string, extra?: { apps?: string[]; rings?: string[] }): Promise<string>;
}

let tokenSeq = 0;

export async function startTestServer(storageOptions: { dataDir?: string; databaseUrl?: string }, options: ServerOptions = {}): Promise<TestServer> {
  const storage = await openStorage(storageOptions);
  const server = await startServer({ validateResponses: true, ...options, storage, host: '127.0.0.1', port: 0, logLevel: false });
  const admin = (await createToken(storage, { name: `admin-${++tokenSeq}`, role: 'admin' })).token;
  const call: TestServer['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? admin : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(server.url + path, { method, headers, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics)
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    url: server.url,
    storage,
    admin,
    contract: server.contract,
    call,
    async token(role, extra = {}) {
      return (await createToken(storage, { name: `${role}-${++tokenSeq}`, role: role as any, ...extra })).token;
    },
    async close() {
      await server.close();
      await storage.close();
    },
  };
}
