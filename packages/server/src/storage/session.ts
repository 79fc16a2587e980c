import pg from 'pg';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { StorageError } from '../errors.ts';
import type { Database } from './schema.ts';

/** One dedicated PostgreSQL connection: what is tied to it (an advisory lock) lives and dies with it. */
export interface Session {
  /** Queries on this one connection, one at a time (a transaction holds it until it ends). */
  readonly db: Kysely<Database>;
  /** Why the connection is gone (terminated, network lost, closed), or undefined while it lives. */
  readonly lost: Error | undefined;
  close(): Promise<void>;
}

/**
 * Opens a session on its own connection. It never reconnects: once the connection is gone every
 * query fails, so work guarded by a lock held on the session cannot go on without the lock.
 */
export async function openSession(connectionString: string, types: unknown): Promise<Session> {
  const client = new pg.Client({ connectionString, types: types as pg.CustomTypesConfig });
  let lost: Error | undefined;
  client.on('error', (err) => (lost ??= err));
  client.on('end', () => (lost ??= new StorageError('the session was closed')));
  await client.connect();
  let queue: Promise<void> = Promise.resolve();
  // a pool of exactly this one connection, handed out to one user at a time
  const pool: PostgresPool = {
    async connect(): Promise<PostgresPoolClient> {
      let release!: () => void;
      const turn = new Promise<void>((r) => (release = r));
      const before = queue;
      queue = before.then(() => turn);
      await before;
      if (lost) {
        release();
        throw new StorageError(`the engine's database session is gone: ${lost.message}`, { cause: lost });
      }
      return { query: client.query.bind(client) as PostgresPoolClient['query'], release: () => release() };
    },
    async end() {
      await client.end().catch(() => undefined);
    },
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    get lost() {
      return lost;
    },
    close: () => db.destroy(),
  };
}
