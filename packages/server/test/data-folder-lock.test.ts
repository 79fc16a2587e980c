import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createServer } from '../src/index.ts';

const TSX = join(import.meta.dirname, '..', '..', '..', 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const CHILD = join(import.meta.dirname, 'storage', 'serve-on-folder.ts');
const cleanup: Array<() => unknown> = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Starts `serve` on a data folder in another process; resolves once it listens. */
function serveIn(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', TSX, CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

it('refuses a second control plane on a data folder, naming the process that holds it; a killed holder frees it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-lock-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const first = await serveIn(dir);

  const refused = await createServer({ dataDir: dir, logLevel: false }).then(async (s) => {
    await s.close();
    return undefined;
  }, (e: Error) => e);
  expect(refused?.message).toMatch(new RegExp(`^the data folder ${dir} is in use by another Ringmaster: pid ${first.pid} on host ${hostname()}, started at \\d{4}-\\d\\d-\\d\\dT`));
  expect((refused as { code?: string }).code).toBe('RINGMASTER_STORAGE');

  // kill -9 leaves no stale lock: the operating system drops it with the process
  const exited = new Promise((resolve) => first.once('exit', resolve));
  first.kill('SIGKILL');
  await exited;
  const second = await createServer({ dataDir: dir, logLevel: false });
  cleanup.push(() => second.close());
  expect((await second.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  await expect(serveIn(dir)).rejects.toThrow(/in use by another Ringmaster: pid \d+/);
}, 120_000);
