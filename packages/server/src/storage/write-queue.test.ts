import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage, type Storage } from './storage.ts';
import { WriteQueue } from './write-queue.ts';

let storage: Storage | undefined;
let dir: string | undefined;
afterEach(async () => {
  await storage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('WriteQueue on SQLite', () => {
  it('commits concurrent jobs together but rolls back a failing one alone', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringmaster-wq-'));
    storage = await openStorage({ dataDir: dir });
    const q = new WriteQueue(storage);
    const put = (key: string, fail = false) => q.run(async (trx) => {
      await trx.insertInto('settings').values({ key, value: 'v' }).execute();
      if (fail) throw new Error(`job ${key} failed`);
      return key;
    });
    const results = await Promise.allSettled([put('a'), put('b'), put('c', true), put('d')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('job c failed');
    const keys = (await storage.db.selectFrom('settings').select('key').orderBy('key').execute()).map((r) => r.key);
    expect(keys).toEqual(['a', 'b', 'd']);
  });

  it('keeps serving jobs after one failed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringmaster-wq-'));
    storage = await openStorage({ dataDir: dir });
    const q = new WriteQueue(storage);
    // a duplicate primary key inside a job is that job's failure only
    await q.run((trx) => trx.insertInto('settings').values({ key: 'x', value: '1' }).execute());
    await expect(q.run((trx) => trx.insertInto('settings').values({ key: 'x', value: '2' }).execute())).rejects.toThrow();
    await q.run((trx) => trx.insertInto('settings').values({ key: 'y', value: '1' }).execute());
    expect((await storage.db.selectFrom('settings').selectAll().orderBy('key').execute())).toEqual([{ key: 'x', value: '1' }, { key: 'y', value: '1' }]);
  });

  it('groups single statements without savepoints; a failing one undoes only itself', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringmaster-wq-'));
    storage = await openStorage({ dataDir: dir });
    const q = new WriteQueue(storage);
    const put = (key: string) => q.runStatement((trx) => trx.insertInto('settings').values({ key, value: 'v' }).execute());
    const results = await Promise.allSettled([put('a'), put('a'), put('b'), q.run(async (trx) => {
      await trx.insertInto('settings').values({ key: 'c', value: 'v' }).execute();
      await trx.insertInto('settings').values({ key: 'b', value: 'v' }).execute();
    })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const keys = (await storage.db.selectFrom('settings').select('key').orderBy('key').execute()).map((r) => r.key);
    expect(keys).toEqual(['a', 'b']);
  });
});
