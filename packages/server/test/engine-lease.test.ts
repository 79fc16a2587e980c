import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createContext, FlightEngine, openStorage, type Storage } from '../src/index.ts';
import { startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { tempDir } from './flighting/fixture.ts';

const TSX = join(import.meta.dirname, '..', '..', '..', 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const CHILD = join(import.meta.dirname, 'flighting', 'engine-child.ts');
let pg: TestPostgres;
const cleanup: Array<() => unknown> = [];

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await pg?.stop();
});

/** A release with no rings: any engine that acts on it finishes it at once (pending → succeeded). */
async function pendingRelease(storage: Storage, id: string): Promise<void> {
  const now = Date.now();
  await storage.db.insertInto('releases').values({
    id, revision: 'a'.repeat(40), override: null, state: 'pending', phase: 'rollout', paused: 0, reason: null, message: null, created_by: 'test',
    created_at: now, updated_at: now, finished_at: null, summary: JSON.stringify({ instances: 0, clusters: 0, rings: {}, actions: { create: 0, update: 0, delete: 0 }, apps: [], skipped: [] }),
  }).execute();
}

it('fences a paused engine on PostgreSQL: a standby takes the lease over, and the old holder cannot act once it wakes', async () => {
  const url = await pg.createDatabase();
  const storage = await openStorage({ databaseUrl: url });
  cleanup.push(() => storage.close());
  const work = tempDir('lease');
  cleanup.push(() => rmSync(work, { recursive: true, force: true }));

  const lines: Array<{ msg?: string }> = [];
  const holder: ChildProcess = spawn(process.execPath, ['--import', TSX, CHILD, url, join(work, 'a')], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.push(() => holder.kill('SIGKILL'));
  let buf = '';
  holder.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)) as { msg?: string });
      buf = buf.slice(i + 1);
    }
  });
  const logged = (msg: string) => lines.some((l) => l.msg?.startsWith(msg));
  await vi.waitFor(() => expect(logged('engine lease held')).toBe(true), { timeout: 60_000, interval: 100 });

  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const standby = new FlightEngine(createContext(storage, { fleetRepo: '/nonexistent', manifestRepo: { url: '/nonexistent' }, workDir: join(work, 'b'), leaseMs: 1000 }, async () => undefined, quiet));
  cleanup.push(() => standby.stop());
  expect(await standby.holdLease()).toBe('taken');

  // the holder freezes (a long GC pause, a stopped VM): its heartbeat stops, the standby ends its session
  holder.kill('SIGSTOP');
  await vi.waitFor(async () => expect(await standby.holdLease()).toBe('held'), { timeout: 30_000, interval: 200 });
  await pendingRelease(storage, 'r-fenced');

  // the old holder wakes with its timers overdue: whatever it tries goes through its dead session
  holder.kill('SIGCONT');
  await vi.waitFor(() => expect(logged('engine lease lost')).toBe(true), { timeout: 30_000, interval: 100 });
  const row = await storage.db.selectFrom('releases').select('state').where('id', '=', 'r-fenced').executeTakeFirstOrThrow();
  expect(row.state).toBe('pending');

  // the new holder does act
  await standby.tick();
  expect((await storage.db.selectFrom('releases').select('state').where('id', '=', 'r-fenced').executeTakeFirstOrThrow()).state).toBe('succeeded');
}, 180_000);
