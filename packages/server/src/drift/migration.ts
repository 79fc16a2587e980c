import type { Kysely, Migration } from 'kysely';

/** The drift table: one row per drifted field of a delivered instance, kept across restarts, deleted when resolved. */
export function driftMigrations(): Record<string, Migration> {
  return {
    '0102_drift': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('drift_fields')
          .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
          .addColumn('instance', 'varchar(200)', (c) => c.notNull())
          .addColumn('app', 'varchar(200)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)')
          .addColumn('object_key', 'varchar(800)', (c) => c.notNull())
          .addColumn('api_version', 'varchar(200)', (c) => c.notNull())
          .addColumn('kind', 'varchar(200)', (c) => c.notNull())
          .addColumn('namespace', 'varchar(253)', (c) => c.notNull())
          .addColumn('name', 'varchar(253)', (c) => c.notNull())
          .addColumn('path', 'varchar(1000)', (c) => c.notNull())
          .addColumn('state', 'varchar(20)', (c) => c.notNull())
          .addColumn('desired', 'text')
          .addColumn('live', 'text')
          .addColumn('manager', 'varchar(200)')
          .addColumn('operation', 'varchar(20)')
          .addColumn('changed_at', 'varchar(40)')
          .addColumn('audit_user', 'varchar(300)')
          .addColumn('audit_verb', 'varchar(20)')
          .addColumn('audit_at', 'varchar(40)')
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('first_seen', 'bigint', (c) => c.notNull())
          .addColumn('last_seen', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('drift_fields_pk', ['cluster', 'instance', 'object_key', 'path'])
          .execute();
        await db.schema.createIndex('drift_fields_app').on('drift_fields').columns(['app', 'cluster']).execute();
      },
    },
  };
}
