import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../storage/storage.ts';

/** Tables of the requests API: requests, their ordered steps, their log lines, and seen ticket webhook deliveries. */
export function requestMigrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0103_requests': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('requests')
          .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
          .addColumn('kind', 'varchar(20)', (c) => c.notNull())
          .addColumn('state', 'varchar(30)', (c) => c.notNull())
          .addColumn('instance', 'varchar(200)', (c) => c.notNull())
          .addColumn('app', 'varchar(200)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)')
          .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
          .addColumn('ticket', 'varchar(100)')
          .addColumn('reason', 'text')
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('preflight', 'text', (c) => c.notNull())
          .addColumn('dry_run', 'text', (c) => c.notNull())
          .addColumn('plan', 'text', (c) => c.notNull())
          .addColumn('approval', 'text')
          .addColumn('links', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('current_step', 'varchar(40)')
          .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        await db.schema.createIndex('requests_created').on('requests').columns(['created_at']).execute();
        await db.schema.createIndex('requests_state').on('requests').columns(['state']).execute();
        await db.schema.createIndex('requests_ticket').on('requests').columns(['ticket']).execute();

        await db.schema.createTable('request_steps')
          .addColumn('request_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('name', 'varchar(40)', (c) => c.notNull())
          .addColumn('state', 'varchar(20)', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_at', 'bigint')
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('message', 'text')
          .addColumn('data', 'text')
          .addPrimaryKeyConstraint('request_steps_pk', ['request_id', 'position'])
          .execute();

        await db.schema.createTable('request_logs')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('request_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('step', 'varchar(40)', (c) => c.notNull())
          .addColumn('level', 'varchar(10)', (c) => c.notNull())
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('request_logs_request').on('request_logs').columns(['request_id', 'id']).execute();

        await db.schema.createTable('ticket_deliveries')
          .addColumn('delivery_id', 'varchar(200)', (c) => c.primaryKey())
          .addColumn('fingerprint', 'varchar(64)', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('ticket_deliveries_fingerprint').on('ticket_deliveries').columns(['fingerprint']).unique().execute();
      },
    },
  };
}
