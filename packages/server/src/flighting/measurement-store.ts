import type { Kysely, Migration } from 'kysely';
import type { Database } from '../storage/schema.ts';
import type { Measurement } from './metric-gate.ts';

/** One metric gate measurement of a release: a gate's query on one cluster (and instance), at one time (epoch ms); `ok` as 0/1. */
export interface ReleaseMeasurementsTable extends Omit<Measurement, 'ok'> {
  release_id: string;
  ok: number;
}

export interface MeasurementTables {
  release_measurements: ReleaseMeasurementsTable;
}

export function metricGateMigrations(): Record<string, Migration> {
  return {
    '0107_metric_gates': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('release_measurements')
          .addColumn('release_id', 'varchar(40)', (c) => c.notNull())
          .addColumn('ring', 'varchar(100)', (c) => c.notNull())
          .addColumn('wave', 'integer', (c) => c.notNull())
          .addColumn('cluster', 'varchar(200)', (c) => c.notNull())
          .addColumn('gate', 'varchar(100)', (c) => c.notNull())
          .addColumn('instance', 'varchar(200)', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('value', 'double precision')
          .addColumn('ok', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addPrimaryKeyConstraint('release_measurements_pk', ['release_id', 'ring', 'wave', 'cluster', 'gate', 'instance', 'seq'])
          .execute();
      },
    },
  };
}

/** The SQL of metric gate measurements. */
export class MeasurementStore {
  constructor(private readonly storage: { readonly db: Kysely<Database> }) {}

  /** A release's measurements, in the order they were taken. */
  async list(id: string): Promise<Measurement[]> {
    const rows = await this.storage.db.selectFrom('release_measurements').selectAll().where('release_id', '=', id).orderBy('at').orderBy('seq').execute();
    return rows.map((r) => ({ ring: r.ring, wave: r.wave, cluster: r.cluster, gate: r.gate, instance: r.instance, seq: r.seq, at: Number(r.at), value: r.value === null ? null : Number(r.value), ok: r.ok === 1, error: r.error }));
  }

  /** Records measurements; one already recorded (a retried pass after a crash) is kept as it was. */
  async record(id: string, rows: Measurement[]): Promise<void> {
    if (rows.length === 0) return;
    await this.storage.db.insertInto('release_measurements')
      .values(rows.map((m) => ({ release_id: id, ring: m.ring, wave: m.wave, cluster: m.cluster, gate: m.gate, instance: m.instance, seq: m.seq, at: m.at, value: m.value !== null && Number.isFinite(m.value) ? m.value : null, ok: m.ok ? 1 : 0, error: m.error?.slice(0, 2000) ?? null })))
      .onConflict((oc) => oc.columns(['release_id', 'ring', 'wave', 'cluster', 'gate', 'instance', 'seq']).doNothing())
      .execute();
  }
}
