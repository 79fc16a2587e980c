import type { Generated, Kysely, Migration, Selectable } from 'kysely';
import type { Database } from '../storage/schema.ts';
import type { Dialect } from '../storage/storage.ts';
import type { BoundaryFacts, Freeze, OverrideGate, ReleaseOverride } from './holds.ts';

/** An organisation-wide freeze: active while ended_at is null (at most one at a time). */
export interface FreezesTable {
  id: Generated<number>;
  reason: string;
  started_by: string;
  started_at: number;
  ended_by: string | null;
  ended_at: number | null;
  end_reason: string | null;
}

/** An admin's override of one release past a gate (window or freeze), with the reason. */
export interface ReleaseOverridesTable {
  id: Generated<number>;
  release_id: string;
  gate: string;
  actor: string;
  reason: string;
  at: number;
}

export interface FreezeTables {
  freezes: FreezesTable;
  release_overrides: ReleaseOverridesTable;
}

export function freezeMigrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0106_windows_freezes': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('freezes')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('started_by', 'varchar(200)', (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('ended_by', 'varchar(200)')
          .addColumn('ended_at', 'bigint')
          .addColumn('end_reason', 'text')
          .execute();
        await db.schema.createTable('release_overrides')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('gate', 'varchar(20)', (c) => c.notNull())
          .addColumn('actor', 'varchar(200)', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('release_overrides_release').on('release_overrides').columns(['release_id']).execute();
      },
    },
  };
}

const toFreeze = (r: Selectable<FreezesTable>): Freeze => ({ id: Number(r.id), reason: r.reason, startedBy: r.started_by, startedAt: Number(r.started_at), endedBy: r.ended_by, endedAt: r.ended_at === null ? null : Number(r.ended_at), endReason: r.end_reason });

/** Every SQL statement of freezes and overrides. */
export class FreezeStore {
  constructor(private readonly storage: { readonly db: Kysely<Database> }) {}

  private get db(): Kysely<Database> {
    return this.storage.db;
  }

  /** The freeze in force, if any. */
  async active(): Promise<Freeze | null> {
    const row = await this.db.selectFrom('freezes').selectAll().where('ended_at', 'is', null).orderBy('id', 'desc').executeTakeFirst();
    return row ? toFreeze(row) : null;
  }

  /** The latest freeze, in force or ended. */
  async latest(): Promise<Freeze | null> {
    const row = await this.db.selectFrom('freezes').selectAll().orderBy('id', 'desc').executeTakeFirst();
    return row ? toFreeze(row) : null;
  }

  /** Starts a freeze unless one is in force (then returns undefined and writes nothing). */
  async start(reason: string, actor: string, now: number): Promise<Freeze | undefined> {
    return this.db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('freezes').select('id').where('ended_at', 'is', null).executeTakeFirst()) return undefined;
      await trx.insertInto('freezes').values({ reason, started_by: actor, started_at: now, ended_by: null, ended_at: null, end_reason: null }).execute();
      const row = await trx.selectFrom('freezes').selectAll().where('ended_at', 'is', null).orderBy('id', 'desc').executeTakeFirstOrThrow();
      return toFreeze(row);
    });
  }

  /** Ends the freeze in force; undefined when there is none. */
  async end(actor: string, reason: string | null, now: number): Promise<Freeze | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('freezes').selectAll().where('ended_at', 'is', null).orderBy('id', 'desc').executeTakeFirst();
      if (!row) return undefined;
      await trx.updateTable('freezes').set({ ended_by: actor, ended_at: now, end_reason: reason }).where('id', '=', row.id).execute();
      return toFreeze({ ...row, ended_by: actor, ended_at: now, end_reason: reason });
    });
  }

  async override(releaseId: string, gate: OverrideGate, actor: string, reason: string, now: number): Promise<void> {
    await this.db.insertInto('release_overrides').values({ release_id: releaseId, gate, actor, reason, at: now }).execute();
  }

  async overrides(releaseId: string): Promise<ReleaseOverride[]> {
    const rows = await this.db.selectFrom('release_overrides').selectAll().where('release_id', '=', releaseId).orderBy('id').execute();
    return rows.map((r) => ({ gate: r.gate as OverrideGate, actor: r.actor, reason: r.reason, at: Number(r.at) }));
  }

  async deleteOverrides(releaseId: string): Promise<void> {
    await this.db.deleteFrom('release_overrides').where('release_id', '=', releaseId).execute();
  }

  /** What outside a release holds it at its next boundary: the freeze in force and the release's overrides. */
  async facts(releaseId: string): Promise<BoundaryFacts> {
    const [freeze, overrides] = await Promise.all([this.active(), this.overrides(releaseId)]);
    return { freeze, overrides };
  }
}
