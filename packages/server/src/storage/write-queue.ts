import type { Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { Storage } from './storage.ts';

export type TransactionRunner = <T>(fn: (trx: Transaction<Database>) => Promise<T>) => Promise<T>;

interface Job {
  fn: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  single: boolean;
}

/**
 * Group commit for SQLite. SQLite has one writer, so concurrent requests queue anyway; instead of one
 * transaction (and one WAL commit) each, the requests waiting at a moment share one transaction, each in
 * its own savepoint: a request that fails is rolled back alone, and each is still stored entirely or not
 * at all. PostgreSQL runs transactions side by side, so there each job simply gets its own.
 */
export class WriteQueue {
  private readonly queue: Job[] = [];
  private draining = false;

  constructor(private readonly storage: Storage, private readonly maxGroup = 256) {}

  readonly run: TransactionRunner = <T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> => {
    if (this.storage.dialect !== 'sqlite') return this.storage.db.transaction().execute(fn);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject, single: false });
      this.schedule();
    });
  };

  /**
   * For a job that is ONE statement: a failed statement undoes only itself, so it needs no savepoint
   * of its own (two statements fewer per job).
   */
  readonly runStatement: TransactionRunner = <T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> => {
    if (this.storage.dialect !== 'sqlite') return fn(this.storage.db as unknown as Transaction<Database>);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject, single: true });
      this.schedule();
    });
  };

  /**
   * Starts draining on the next turn of the event loop, not now: the SQLite driver answers through
   * promises that resolve at once, so a drain started immediately would run to its end before Node
   * reads the other requests already waiting on their sockets, and every group would hold one job.
   */
  private schedule(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, this.maxGroup);
        const settle: Array<() => void> = [];
        let trx: Awaited<ReturnType<ReturnType<Storage['db']['startTransaction']>['execute']>> | undefined;
        try {
          trx = await this.storage.db.startTransaction().execute();
          for (const job of group) {
            if (job.single) {
              try {
                const value = await job.fn(trx);
                settle.push(() => job.resolve(value));
              } catch (err) {
                settle.push(() => job.reject(err));
              }
              continue;
            }
            const sp = await trx.savepoint('job').execute();
            try {
              const value = await job.fn(sp);
              await sp.releaseSavepoint('job').execute();
              settle.push(() => job.resolve(value));
            } catch (err) {
              await sp.rollbackToSavepoint('job').execute();
              await sp.releaseSavepoint('job').execute();
              settle.push(() => job.reject(err));
            }
          }
          await trx.commit().execute();
          for (const s of settle) s();
        } catch (err) {
          try {
            await trx?.rollback().execute();
          } catch {
            // the transaction is gone already; every job of the group fails below
          }
          for (const job of group) job.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
