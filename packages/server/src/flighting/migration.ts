import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../storage/storage.ts';

/** Tables of flighting (releases, rings, waves, cluster steps, approvals, delivered state). */
export function flightingMigrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0100_flighting': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('releases')
          .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
          .addColumn('revision', 'varchar(64)', (c) => c.notNull())
          .addColumn('override', 'text')
          .addColumn('state', 'varchar(30)', (c) => c.notNull())
          .addColumn('phase', 'varchar(20)', (c) => c.notNull())
          .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('reason', 'text')
          .addColumn('message', 'text')
          .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .addColumn('summary', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('releases_created').on('releases').columns(['created_at']).execute();
        await db.schema.createIndex('releases_state').on('releases').columns(['state']).execute();

        await db.schema.createTable('release_rings')
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('state', 'varchar(30)', (c) => c.notNull())
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('approved_by', 'varchar(200)')
          .addColumn('approved_at', 'bigint')
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addPrimaryKeyConstraint('release_rings_pk', ['release_id', 'ring'])
          .execute();

        await db.schema.createTable('release_waves')
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)', (c) => c.notNull())
          .addColumn('wave', 'integer', (c) => c.notNull())
          .addColumn('label', 'varchar(200)')
          .addColumn('state', 'varchar(30)', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('deadline_at', 'bigint')
          .addColumn('soak_until', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addPrimaryKeyConstraint('release_waves_pk', ['release_id', 'ring', 'wave'])
          .execute();

        await db.schema.createTable('release_steps')
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('step', 'varchar(20)', (c) => c.notNull())
          .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)', (c) => c.notNull())
          .addColumn('wave', 'integer', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('delivery', 'text', (c) => c.notNull())
          .addColumn('state', 'varchar(30)', (c) => c.notNull())
          .addColumn('phase', 'varchar(40)', (c) => c.notNull())
          .addColumn('instances', 'text', (c) => c.notNull())
          .addColumn('manifest_commit', 'varchar(64)')
          .addColumn('reason', 'text')
          .addColumn('started_at', 'bigint')
          .addColumn('deadline_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('release_steps_pk', ['release_id', 'step', 'cluster'])
          .execute();

        await db.schema.createTable('release_approvals')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)', (c) => c.notNull())
          .addColumn('actor', 'varchar(200)', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('result', 'varchar(20)', (c) => c.notNull())
          .addColumn('reason', 'text')
          .execute();
        await db.schema.createIndex('release_approvals_release').on('release_approvals').columns(['release_id', 'ring']).execute();

        await db.schema.createTable('delivered')
          .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
          .addColumn('instance', 'varchar(200)', (c) => c.notNull())
          .addColumn('app', 'varchar(200)', (c) => c.notNull())
          .addColumn('namespace', 'varchar(200)', (c) => c.notNull())
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('digest', 'varchar(64)', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('delivered_pk', ['cluster', 'instance'])
          .execute();
      },
    },
  };
}
