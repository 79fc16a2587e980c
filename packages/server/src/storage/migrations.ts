import { sql, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';
import type { Dialect } from './storage.ts';
import { flightingMigrations } from '../flighting/migration.ts';
import { metricGateMigrations } from '../flighting/measurement-store.ts';
import { driftMigrations } from '../drift/migration.ts';
import { requestMigrations } from '../requests/migration.ts';
import { journeyClusterMigrations } from '../journey/clusters.ts';
import { freezeMigrations } from '../flighting/freezes.ts';
import { alertMigrations } from '../flighting/alert-store.ts';
import { releaseConcurrencyMigrations } from '../flighting/concurrency-migration.ts';

/** What a table group needs to know of the dialect. */
interface TableBuilding {
  dialect: Dialect;
  serial: 'bigserial' | 'integer';
  withoutRowid: <T extends CreateTableBuilder<any, any>>(b: T) => T;
}

/** 0001_initial: the journey's raw events and their links to changes. */
async function createEventTables(db: Kysely<any>, { serial, withoutRowid }: TableBuilding): Promise<void> {
  await db.schema.createTable('events')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('source', 'varchar(20)', (c) => c.notNull())
    .addColumn('delivery_id', 'varchar(200)')
    .addColumn('idempotency_key', 'varchar(300)')
    .addColumn('app', 'varchar(200)')
    .addColumn('team', 'varchar(200)')
    .addColumn('repository', 'varchar(300)')
    .addColumn('commit_sha', 'varchar(64)')
    .addColumn('previous_commit', 'varchar(64)')
    .addColumn('branch', 'varchar(300)')
    .addColumn('author', 'varchar(300)')
    .addColumn('author_email', 'varchar(300)')
    .addColumn('message', 'text')
    .addColumn('build_id', 'varchar(200)')
    .addColumn('build_url', 'varchar(2000)')
    .addColumn('image', 'varchar(1000)')
    .addColumn('image_digest', 'varchar(100)')
    .addColumn('release_id', 'varchar(200)')
    .addColumn('ring', 'varchar(100)')
    .addColumn('cluster', 'varchar(200)')
    .addColumn('instance', 'varchar(200)')
    .addColumn('status', 'varchar(40)')
    .addColumn('url', 'varchar(2000)')
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('data', 'text')
    .execute();
  // events are read through event_changes (the timeline); more indexes would only slow ingestion
  // most events carry no idempotency key: a partial index keeps them out of it
  await db.schema.createIndex('events_idempotency').on('events').column('idempotency_key').unique()
    .where(sql.ref('idempotency_key'), 'is not', null).execute();

  await db.schema.createTable('event_changes')
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('change_id', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_changes_pk', ['change_id', 'event_id'])
    .$call(withoutRowid)
    .execute();
}

/** 0001_initial: changes, how they are found, and where they reached. */
async function createChangeTables(db: Kysely<any>, { withoutRowid }: TableBuilding): Promise<void> {
  await db.schema.createTable('changes')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('app', 'varchar(200)')
    .addColumn('team', 'varchar(200)')
    .addColumn('repository', 'varchar(300)')
    .addColumn('commit_sha', 'varchar(64)', (c) => c.notNull())
    .addColumn('branch', 'varchar(300)')
    .addColumn('author', 'varchar(300)')
    .addColumn('author_email', 'varchar(300)')
    .addColumn('title', 'varchar(1000)')
    .addColumn('committed_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('stage', 'varchar(20)', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('build_id', 'varchar(200)')
    .addColumn('build_url', 'varchar(2000)')
    .addColumn('image', 'varchar(1000)')
    .addColumn('image_digest', 'varchar(100)')
    .addColumn('fleet_revision', 'varchar(64)')
    .addColumn('release_id', 'varchar(200)')
    .addColumn('failed_at', 'bigint')
    .execute();
  await db.schema.createIndex('changes_time').on('changes').columns(['committed_at', 'id']).execute();
  await db.schema.createIndex('changes_app_time').on('changes').columns(['app', 'committed_at']).execute();
  await db.schema.createIndex('changes_team_time').on('changes').columns(['team', 'committed_at']).execute();

  await db.schema.createTable('change_keys')
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('value', 'varchar(1000)', (c) => c.notNull())
    .addColumn('change_id', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('change_keys_pk', ['kind', 'value', 'change_id'])
    .$call(withoutRowid)
    .execute();

  await db.schema.createTable('change_targets')
    .addColumn('change_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
    .addColumn('instance', 'varchar(200)', (c) => c.notNull())
    .addColumn('app', 'varchar(200)')
    .addColumn('ring', 'varchar(100)')
    .addColumn('state', 'varchar(20)', (c) => c.notNull())
    .addColumn('manifest_commit', 'varchar(64)')
    .addColumn('release_id', 'varchar(200)')
    .addColumn('synced_at', 'bigint')
    .addColumn('healthy_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('change_targets_pk', ['change_id', 'cluster', 'instance'])
    .execute();
  await db.schema.createIndex('change_targets_ring').on('change_targets').columns(['ring', 'change_id']).execute();
  await db.schema.createIndex('change_targets_cluster').on('change_targets').columns(['cluster', 'change_id']).execute();

  await db.schema.createTable('change_rings')
    .addColumn('change_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('app', 'varchar(200)')
    .addColumn('team', 'varchar(200)')
    .addColumn('ring', 'varchar(100)', (c) => c.notNull())
    .addColumn('reached_at', 'bigint', (c) => c.notNull())
    .addColumn('lead_ms', 'bigint', (c) => c.notNull())
    .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('change_rings_pk', ['change_id', 'ring'])
    .execute();
  await db.schema.createIndex('change_rings_ring_time').on('change_rings').columns(['ring', 'reached_at', 'lead_ms', 'failed']).execute();
  await db.schema.createIndex('change_rings_app').on('change_rings').columns(['app', 'ring', 'reached_at']).execute();
  await db.schema.createIndex('change_rings_team').on('change_rings').columns(['team', 'ring', 'reached_at']).execute();
}

/** 0001_initial: what runs where, incidents, apps and webhook deliveries. */
async function createFleetTables(db: Kysely<any>, { serial }: TableBuilding): Promise<void> {
  await db.schema.createTable('fleet_state')
    .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
    .addColumn('instance', 'varchar(200)', (c) => c.notNull())
    .addColumn('app', 'varchar(200)')
    .addColumn('ring', 'varchar(100)')
    .addColumn('release_id', 'varchar(200)')
    .addColumn('image', 'varchar(1000)')
    .addColumn('revision', 'varchar(64)')
    .addColumn('change_id', 'varchar(64)')
    .addColumn('sync', 'varchar(40)')
    .addColumn('health', 'varchar(40)')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('fleet_state_pk', ['cluster', 'instance'])
    .execute();
  await db.schema.createIndex('fleet_state_ring').on('fleet_state').columns(['ring', 'cluster', 'instance']).execute();

  await db.schema.createTable('incidents')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('app', 'varchar(200)')
    .addColumn('team', 'varchar(200)')
    .addColumn('ring', 'varchar(100)')
    .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
    .addColumn('instance', 'varchar(200)', (c) => c.notNull())
    .addColumn('change_id', 'varchar(64)')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('restored_at', 'bigint')
    .execute();
  await db.schema.createIndex('incidents_open').on('incidents').columns(['cluster', 'instance', 'restored_at']).execute();
  await db.schema.createIndex('incidents_time').on('incidents').columns(['started_at']).execute();

  await db.schema.createTable('apps')
    .addColumn('app', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('team', 'varchar(200)')
    .addColumn('contacts', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('app_repositories')
    .addColumn('repository', 'varchar(300)', (c) => c.primaryKey())
    .addColumn('app', 'varchar(200)', (c) => c.notNull())
    .execute();

  await db.schema.createTable('deliveries')
    .addColumn('source', 'varchar(20)', (c) => c.notNull())
    .addColumn('delivery_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('events', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('deliveries_pk', ['source', 'delivery_id'])
    .execute();
}

/** 0001_initial: tokens, the append-only audit trail and settings. */
async function createAccessTables(db: Kysely<any>, { dialect, serial }: TableBuilding): Promise<void> {
  await db.schema.createTable('tokens')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull().unique())
    .addColumn('role', 'varchar(20)', (c) => c.notNull())
    .addColumn('apps', 'text')
    .addColumn('rings', 'text')
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'varchar(200)')
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema.createTable('audit')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'varchar(200)', (c) => c.notNull())
    .addColumn('action', 'varchar(200)', (c) => c.notNull())
    .addColumn('target', 'varchar(1000)')
    .addColumn('ip', 'varchar(100)')
    .addColumn('result', 'varchar(20)', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('details', 'text')
    .execute();
  await db.schema.createIndex('audit_at').on('audit').columns(['at']).execute();

  await db.schema.createTable('settings')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  // The audit trail is append-only at the database level too, not only in the API.
  if (dialect === 'postgres') {
    await sql`CREATE FUNCTION ringmaster_audit_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'audit is append-only'; END; $$ LANGUAGE plpgsql`.execute(db);
    await sql`CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
      FOR EACH ROW EXECUTE FUNCTION ringmaster_audit_append_only()`.execute(db);
  } else {
    await sql`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END`.execute(db);
  }
}


/**
 * The one list of migrations for SQLite and PostgreSQL. Only the auto-increment key and the
 * append-only trigger differ by dialect; everything else is the portable subset of the schema builder.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  // SQLite stores a pure link table twice (rows and primary-key index) unless told WITHOUT ROWID
  const withoutRowid = <T extends CreateTableBuilder<any, any>>(b: T): T => (dialect === 'sqlite' ? (b.modifyEnd(sql`without rowid`) as T) : b);
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        const b: TableBuilding = { dialect, serial, withoutRowid };
        await createEventTables(db, b);
        await createChangeTables(db, b);
        await createFleetTables(db, b);
        await createAccessTables(db, b);
      },
    },
    ...flightingMigrations(dialect),
    // Named after 0100 so that databases which ran flighting's migration take it in order.
    '0101_change_target_image': {
      async up(db: Kysely<any>) {
        // the image the fleet's render puts on this instance (regions may use different registries)
        await db.schema.alterTable('change_targets').addColumn('image', 'varchar(1000)').execute();
      },
    },
    ...driftMigrations(),
    ...requestMigrations(dialect),
    ...journeyClusterMigrations(),
    ...releaseConcurrencyMigrations(),
    ...metricGateMigrations(),
    ...freezeMigrations(dialect),
    ...alertMigrations(dialect),
  };
}
