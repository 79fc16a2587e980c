import { sql, type Kysely } from 'kysely';
import type { Database } from '../storage/schema.ts';
import type { Session } from '../storage/session.ts';
import type { Storage } from '../storage/storage.ts';
import { StorageError } from '../errors.ts';
import type { Logger } from './context.ts';

/** 'sole': SQLite (one process per data folder, see lockDataFolder); 'held' or 'taken': the PostgreSQL lease. */
export type LeaseState = 'sole' | 'held' | 'taken';

/** Settings row the holder renews (in the database's clock), so a standby can tell a holder that stopped. */
const HEARTBEAT_KEY = 'flighting.lease';
/** The advisory lock (two-int form: classid, objid), per database. */
const LOCK = [7420, 1] as const;

/**
 * Which engine may act, and the database it must act through. On PostgreSQL the lease is a session
 * advisory lock held on a dedicated connection, and every engine read and write goes through that
 * same connection: the moment the lock is lost (the session ended) the engine's next query fails,
 * so a holder that was paused and replaced cannot write anything afterwards. The holder renews a
 * heartbeat; a standby that sees it older than `leaseMs` ends the holder's session (which frees the
 * lock) and takes over.
 */
export class EngineLease {
  private session: Session | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly storage: Storage, private readonly leaseMs: number, private readonly owner: string, private readonly log: Logger) {}

  /** The database the engine reads and writes through; fails once the lease is lost. */
  get db(): Kysely<Database> {
    if (this.storage.dialect !== 'postgres') return this.storage.db;
    const s = this.session;
    if (!s || s.lost) throw new StorageError(`this engine does not hold the lease${s?.lost ? ` (lost: ${s.lost.message})` : ''}; another engine acts`);
    return s.db;
  }

  /** Whether this engine may act now: SQLite always; PostgreSQL while it holds the lease on a live session. */
  get holding(): boolean {
    if (this.storage.dialect !== 'postgres' || !this.storage.openSession) return true;
    return !!this.session && !this.session.lost;
  }

  async hold(): Promise<LeaseState> {
    if (this.storage.dialect !== 'postgres' || !this.storage.openSession) return 'sole';
    if (this.session) {
      try {
        await this.beat(this.session);
        return 'held';
      } catch (err) {
        await this.drop(err as Error);
      }
    }
    const s = await this.storage.openSession();
    try {
      const got = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK[0]}::int, ${LOCK[1]}::int) as ok`.execute(s.db);
      if (got.rows[0]?.ok) {
        this.session = s;
        await this.beat(s);
        this.heartbeat = setInterval(() => void this.beat(s).catch((err: Error) => this.drop(err)), Math.max(50, Math.floor(this.leaseMs / 3)));
        this.heartbeat.unref();
        this.log.info({ owner: this.owner }, 'engine lease held');
        return 'held';
      }
      await this.endStaleHolder(s.db);
    } catch (err) {
      if (this.session !== s) await s.close();
      throw err;
    }
    await s.close();
    return 'taken';
  }

  /** Gives the lease up (a clean stop), so a standby takes over at once. */
  async release(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.stopHeartbeat();
    this.session = undefined;
    await sql`select pg_advisory_unlock(${LOCK[0]}::int, ${LOCK[1]}::int)`.execute(s.db).catch(() => undefined);
    await s.close();
  }

  private async beat(s: Session): Promise<void> {
    if (s.lost) throw s.lost;
    const value = sql<string>`json_build_object('owner', ${this.owner}::text, 'at', (extract(epoch from clock_timestamp()) * 1000)::bigint)::text`;
    await s.db.insertInto('settings').values({ key: HEARTBEAT_KEY, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  }

  private async drop(err: Error): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.stopHeartbeat();
    this.session = undefined;
    this.log.warn({ owner: this.owner, err: err.message }, 'engine lease lost; this engine stops acting');
    await s.close().catch(() => undefined);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Ends the session of a holder whose heartbeat is older than the lease (paused, hung, cut off): its lock goes with it. */
  private async endStaleHolder(db: Kysely<Database>): Promise<void> {
    const r = await sql<{ pid: number; owner: string | null; age: number | null }>`
      select l.pid, (s.value::json->>'owner') as owner,
             (extract(epoch from clock_timestamp()) * 1000)::bigint - (s.value::json->>'at')::bigint as age
      from pg_locks l left join settings s on s.key = ${HEARTBEAT_KEY}
      where l.locktype = 'advisory' and l.classid = ${LOCK[0]} and l.objid = ${LOCK[1]} and l.objsubid = 2 and l.granted
        and l.database = (select oid from pg_database where datname = current_database())`.execute(db);
    const holder = r.rows[0];
    if (!holder || holder.age === null || Number(holder.age) <= this.leaseMs) return;
    this.log.warn({ owner: this.owner, holder: holder.owner, silentMs: Number(holder.age) }, 'the engine lease holder stopped renewing it; ending its session to take over');
    await sql`select pg_terminate_backend(${holder.pid}::int)`.execute(db);
  }
}
