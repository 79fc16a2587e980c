import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import { StorageError } from '../errors.ts';
import { migrations } from './migrations.ts';
import { lockDataFolder, type DataFolderLock } from './data-lock.ts';
import { openSession, type Session } from './session.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface StorageOptions {
  /** Folder for the embedded SQLite database (created if missing); ignored when databaseUrl is set. */
  dataDir?: string;
  /** postgres://user@host:port/db — use PostgreSQL instead of SQLite. */
  databaseUrl?: string;
  /** Connection pool size for PostgreSQL. */
  poolSize?: number;
  /** SQLite: take the data folder for this process alone (what `serve` does); refused while another holds it. */
  exclusive?: boolean;
}

/** An open database, migrated to the latest schema. */
export interface Storage {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where the data lives, without credentials (for logs and /readyz). */
  readonly location: string;
  /** PostgreSQL: a dedicated connection of its own (the engine's lease lives on one); undefined on SQLite. */
  readonly openSession?: () => Promise<Session>;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Opens SQLite (WAL) in `dataDir` or PostgreSQL at `databaseUrl`, and runs the migrations. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  let location: string;
  let lock: DataFolderLock | undefined;
  let session: (() => Promise<Session>) | undefined;
  if (options.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
      throw new StorageError(`--database-url must start with postgres:// (got "${redactUrl(options.databaseUrl)}")`);
    }
    dialect = 'postgres';
    location = redactUrl(options.databaseUrl);
    // BIGINT comes back as a string by default; our BIGINTs are epoch milliseconds and counts, safe as numbers.
    const types = {
      getTypeParser: (oid: number, format?: any) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)),
    };
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10, types: types as any });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const url = options.databaseUrl;
    session = () => openSession(url, types);
  } else {
    const dir = resolve(options.dataDir ?? '.ringmaster');
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new StorageError(`cannot create the data folder ${dir}: ${(err as Error).message}`, { cause: err });
    }
    dialect = 'sqlite';
    location = join(dir, 'ringmaster.db');
    lock = options.exclusive ? lockDataFolder(dir) : undefined;
    let sqlite: BetterSqlite3.Database;
    try {
      sqlite = new BetterSqlite3(location);
    } catch (err) {
      lock?.release();
      throw new StorageError(`cannot open ${location}: ${(err as Error).message}`, { cause: err });
    }
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    // A journey database grows to millions of rows; a 64 MiB page cache and memory-mapped reads keep
    // index inserts and lookups off the file system.
    sqlite.pragma('cache_size = -65536');
    sqlite.pragma('mmap_size = 1073741824');
    sqlite.pragma('temp_store = MEMORY');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  }
  const close = async () => {
    await db.destroy();
    lock?.release();
  };
  const storage: Storage = { db, dialect, location, close, ...(session ? { openSession: session } : {}) };
  try {
    await migrate(storage);
  } catch (err) {
    await close();
    if (err instanceof StorageError) throw err;
    throw new StorageError(`cannot open or migrate the database at ${location}: ${(err as Error).message}`, { cause: err });
  }
  return storage;
}

async function migrate(storage: Storage): Promise<void> {
  const all = migrations(storage.dialect);
  const provider: MigrationProvider = { getMigrations: async () => all };
  const migrator = new Migrator({ db: storage.db, provider, migrationTableName: 'ringmaster_migrations', migrationLockTableName: 'ringmaster_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new StorageError(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** postgres://user:secret@host/db → postgres://user:***@host/db */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/**
 * Kysely prepares every statement anew; with SQLite, preparing costs more than running a small
 * statement, so prepared statements are kept per SQL text (queries are parameterised, texts repeat).
 */
function cachingStatements(sqlite: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string) => {
    let stmt = cache.get(source);
    if (!stmt) {
      if (cache.size >= 1000) cache.clear();
      stmt = sqlite.prepare(source);
      cache.set(source, stmt);
    }
    return stmt;
  };
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') return prepare;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
