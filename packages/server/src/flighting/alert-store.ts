import type { Generated, Kysely, Migration } from 'kysely';
import type { Dialect } from '../storage/storage.ts';
import type { Database } from '../storage/schema.ts';
import type { StoreDatabase } from './store.ts';
import type { ReleaseAlertView } from '@ringmaster/api';
import type { AlertActed, ReleaseAlert } from './alerts.ts';

/** An Alertmanager alert recorded against a release, because its labels named one of the release's clusters. */
export interface ReleaseAlertsTable {
  release_id: string;
  fingerprint: string;
  /** The alert's startsAt (epoch ms): a re-fired alert is a new row. */
  starts_at: number;
  alert: string;
  summary: string | null;
  cluster: string;
  instance: string | null;
  ring: string;
  /** firing or resolved. */
  status: string;
  /** What the engine did when it saw the alert firing (fail, pause, none); null until then. */
  action: string | null;
  /** The status the engine last looked at: the alert needs looking at while it differs from status. */
  acted_status: string | null;
  /** JSON of the alert's labels. */
  labels: string;
  ends_at: number | null;
  received_at: number;
  updated_at: number;
}

/** One notification to one incoming webhook, with its attempts (the delivery log). */
export interface NotificationDeliveriesTable {
  id: Generated<number>;
  /** release/event/ring/notification: the same event is sent once, however often the engine emits it. */
  dedupe_key: string;
  notification: string;
  format: string;
  event: string;
  release_id: string;
  ring: string | null;
  /** JSON of the fleet's { env } or { file } reference: never the URL itself. */
  url_ref: string;
  /** JSON of the message. */
  payload: string;
  state: string;
  attempts: number;
  next_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface AlertTables {
  release_alerts: ReleaseAlertsTable;
  notification_deliveries: NotificationDeliveriesTable;
}

/** Tables of alerts that halt (release_alerts) and of notifications out (notification_deliveries). */
export function alertMigrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0108_alerts_notifications': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('release_alerts')
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('fingerprint', 'varchar(64)', (c) => c.notNull())
          .addColumn('starts_at', 'bigint', (c) => c.notNull())
          .addColumn('alert', 'varchar(200)', (c) => c.notNull())
          .addColumn('summary', 'text')
          .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
          .addColumn('instance', 'varchar(200)')
          .addColumn('ring', 'varchar(100)', (c) => c.notNull())
          .addColumn('status', 'varchar(20)', (c) => c.notNull())
          .addColumn('action', 'varchar(20)')
          .addColumn('acted_status', 'varchar(20)')
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('ends_at', 'bigint')
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('release_alerts_pk', ['release_id', 'fingerprint', 'starts_at'])
          .execute();

        await db.schema.createTable('notification_deliveries')
          .addColumn('id', serial, (c) => c.primaryKey())
          .addColumn('dedupe_key', 'varchar(600)', (c) => c.notNull().unique())
          .addColumn('notification', 'varchar(200)', (c) => c.notNull())
          .addColumn('format', 'varchar(20)', (c) => c.notNull())
          .addColumn('event', 'varchar(40)', (c) => c.notNull())
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)')
          .addColumn('url_ref', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'varchar(20)', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_at', 'bigint', (c) => c.notNull())
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('delivered_at', 'bigint')
          .execute();
        await db.schema.createIndex('notification_deliveries_due').on('notification_deliveries').columns(['state', 'next_at']).execute();
        await db.schema.createIndex('notification_deliveries_release').on('notification_deliveries').columns(['release_id']).execute();
      },
    },
  };
}

const toAlert = (r: ReleaseAlertsTable): ReleaseAlert => ({
  fingerprint: r.fingerprint, startsAt: Number(r.starts_at), alert: r.alert, summary: r.summary, cluster: r.cluster, instance: r.instance, ring: r.ring,
  status: r.status as ReleaseAlert['status'], action: r.action as ReleaseAlert['action'], acted: r.acted_status === r.status, endsAt: r.ends_at === null ? null : Number(r.ends_at), receivedAt: Number(r.received_at),
});

/** An alert as the release view shows it. */
export const alertView = (a: ReleaseAlert): ReleaseAlertView => ({
  fingerprint: a.fingerprint, alert: a.alert, summary: a.summary, cluster: a.cluster, instance: a.instance, ring: a.ring, status: a.status, action: a.action,
  startsAt: new Date(a.startsAt).toISOString(), endsAt: a.endsAt === null ? null : new Date(a.endsAt).toISOString(), receivedAt: new Date(a.receivedAt).toISOString(),
});

/** A received alert matched to a release's cluster: what is stored before the engine looked at it. */
export interface AlertRecord extends Omit<ReleaseAlert, 'action' | 'acted' | 'receivedAt'> {
  releaseId: string;
  labels: Record<string, string>;
}

/** The SQL of release_alerts. */
export class AlertStore {
  constructor(private readonly storage: StoreDatabase) {}

  private get db(): Kysely<Database> {
    return this.storage.db;
  }

  /** Every alert of a release, oldest first. */
  async alerts(releaseId: string): Promise<ReleaseAlert[]> {
    const rows = await this.db.selectFrom('release_alerts').selectAll().where('release_id', '=', releaseId).orderBy('received_at').orderBy('fingerprint').execute();
    return rows.map(toAlert);
  }

  /** The recorded firings of these alerts, in any release (a resolution also reaches a release that ended since). */
  async firings(fingerprints: string[]): Promise<Array<Pick<ReleaseAlertsTable, 'release_id' | 'fingerprint' | 'starts_at' | 'cluster' | 'instance' | 'ring'>>> {
    if (fingerprints.length === 0) return [];
    return this.db.selectFrom('release_alerts').select(['release_id', 'fingerprint', 'starts_at', 'cluster', 'instance', 'ring'])
      .where('fingerprint', 'in', fingerprints).where('status', '=', 'firing').execute();
  }

  /**
   * Records alerts in one transaction: a new one is inserted, a known one whose status changed is
   * updated (and so looked at again by the engine); a repeated delivery changes nothing.
   */
  async record(records: AlertRecord[], now: number): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const r of records) {
        const known = await trx.selectFrom('release_alerts').select(['status']).where('release_id', '=', r.releaseId).where('fingerprint', '=', r.fingerprint)
          .where('starts_at', '=', r.startsAt).executeTakeFirst();
        if (!known) {
          await trx.insertInto('release_alerts').values({
            release_id: r.releaseId, fingerprint: r.fingerprint, starts_at: r.startsAt, alert: r.alert, summary: r.summary, cluster: r.cluster, instance: r.instance,
            ring: r.ring, status: r.status, action: null, acted_status: null, labels: JSON.stringify(r.labels), ends_at: r.endsAt, received_at: now, updated_at: now,
          }).execute();
        } else if (known.status !== r.status) {
          await trx.updateTable('release_alerts').set({ status: r.status, ends_at: r.endsAt, updated_at: now })
            .where('release_id', '=', r.releaseId).where('fingerprint', '=', r.fingerprint).where('starts_at', '=', r.startsAt).execute();
        }
      }
    });
  }

  /** Records what the engine did with alerts (so each status of an alert is acted on once). */
  async acted(releaseId: string, done: AlertActed[], now: number): Promise<void> {
    for (const d of done) {
      await this.db.updateTable('release_alerts').set({ acted_status: d.status, ...(d.action ? { action: d.action } : {}), updated_at: now })
        .where('release_id', '=', releaseId).where('fingerprint', '=', d.fingerprint).where('starts_at', '=', d.startsAt).execute();
    }
  }
}
