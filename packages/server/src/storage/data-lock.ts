import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { StorageError } from '../errors.ts';

/** Who holds a data folder, as the next process to try is told. */
export interface DataFolderHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/** An exclusive hold on a data folder; released by release() or by the process ending, however it ends. */
export interface DataFolderLock {
  release(): void;
}

const LOCK_FILE = 'serve.lock';
const HOLDER_FILE = 'serve.lock.json';

/**
 * Takes the data folder for this process alone, so two control planes never run the engine on one
 * SQLite database. The lock is SQLite's own (an exclusive lock on a small file, held for the life of
 * one connection): the operating system drops it when the process dies, even by kill -9, so there is
 * no stale lock to clean up. A process that finds the folder taken is refused, naming the holder.
 */
export function lockDataFolder(dir: string): DataFolderLock {
  const db = new BetterSqlite3(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // the first write takes the exclusive lock; in this locking mode it is kept until the connection closes
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (taken INTEGER); COMMIT;');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw new StorageError(`cannot lock the data folder ${dir}: ${(err as Error).message}`, { cause: err });
    throw new StorageError(`the data folder ${dir} is in use by another Ringmaster: ${describeHolder(dir)}; stop that one, or give this one another --data-dir`);
  }
  const holder: DataFolderHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const file = join(dir, HOLDER_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(holder) + '\n');
  renameSync(`${file}.tmp`, file);
  return { release: () => db.close() };
}

function describeHolder(dir: string): string {
  try {
    const h = JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')) as DataFolderHolder;
    return `pid ${h.pid} on host ${h.host}, started at ${h.startedAt}`;
  } catch {
    return 'a process that has not said who it is yet';
  }
}
