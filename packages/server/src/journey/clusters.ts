import type { Kysely, Migration } from 'kysely';
import type { Fleet } from '@ringmaster/fleet';
import type { Database } from '../storage/schema.ts';

/**
 * The clusters the journey knows, with their region and labels: from the fleet model (its cluster
 * definitions), and for clusters no fleet declares (yet), from the region sync/health events report.
 */
export interface JourneyClustersTable {
  cluster: string;
  ring: string | null;
  region: string | null;
  /** JSON of the cluster's labels (fleet only), or null. */
  labels: string | null;
  /** 'fleet' (its cluster definition) or 'event' (a sync/health event's data.region); the fleet's wins. */
  source: string;
  updated_at: number;
}

export interface JourneyClusterTables {
  journey_clusters: JourneyClustersTable;
}

export function journeyClusterMigrations(): Record<string, Migration> {
  return {
    '0104_journey_clusters': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('journey_clusters')
          .addColumn('cluster', 'varchar(200)', (c) => c.primaryKey())
          .addColumn('ring', 'varchar(100)')
          .addColumn('region', 'varchar(200)')
          .addColumn('labels', 'text')
          .addColumn('source', 'varchar(10)', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        // once, at upgrade: the regions events reported before this table existed
        const rows = await db.selectFrom('events').select(['cluster', 'data']).where('kind', 'in', ['sync', 'health']).where('cluster', 'is not', null)
          .where('data', 'is not', null).orderBy('id').execute() as Array<{ cluster: string; data: string }>;
        const regions = new Map<string, string>();
        for (const r of rows) {
          const region = regionIn(r.data);
          if (region) regions.set(r.cluster, region);
        }
        const now = Date.now();
        const values = [...regions].map(([cluster, region]) => ({ cluster, ring: null, region, labels: null, source: 'event', updated_at: now }));
        for (let i = 0; i < values.length; i += 200) await db.insertInto('journey_clusters').values(values.slice(i, i + 200)).execute();
      },
    },
  };
}

/** The region a stored event's data names, if any (data is written by this server as JSON). */
function regionIn(data: string): string | undefined {
  try {
    const region = (JSON.parse(data) as { region?: unknown }).region;
    return typeof region === 'string' ? region : undefined;
  } catch {
    return undefined;
  }
}

/** The region a journey event reports for its cluster (sync and health events carry it in data.region). */
export function reportedRegion(data: unknown): string | undefined {
  const region = data && typeof data === 'object' ? (data as { region?: unknown }).region : undefined;
  return typeof region === 'string' && region.length > 0 ? region : undefined;
}

/** Records every cluster of a fleet model with its ring, region and labels (the fleet's definition wins over what events said). */
export async function recordFleetClusters(db: Kysely<Database>, fleet: Pick<Fleet, 'clusters'>, now: number): Promise<void> {
  const rows = [...fleet.clusters.values()].map((c) => ({
    cluster: c.name, ring: c.ring, region: c.region, labels: c.labels ? JSON.stringify(c.labels) : null, source: 'fleet', updated_at: now,
  }));
  for (let i = 0; i < rows.length; i += 200) {
    await db.insertInto('journey_clusters').values(rows.slice(i, i + 200)).onConflict((oc) => oc.column('cluster').doUpdateSet((eb) => ({
      ring: eb.ref('excluded.ring'), region: eb.ref('excluded.region'), labels: eb.ref('excluded.labels'), source: 'fleet', updated_at: now,
    }))).execute();
  }
}

/** Records the region an event reported for a cluster, unless the fleet declares the cluster. */
export async function recordReportedRegion(db: Kysely<Database>, cluster: string, region: string, now: number): Promise<void> {
  await db.insertInto('journey_clusters').values({ cluster, ring: null, region, labels: null, source: 'event', updated_at: now })
    .onConflict((oc) => oc.column('cluster').doUpdateSet({ region, updated_at: now }).where('journey_clusters.source', '=', 'event').where('journey_clusters.region', '!=', region))
    .execute();
}

/** Every known cluster's region. */
export async function clusterRegions(db: Kysely<Database>): Promise<Map<string, string>> {
  const rows = await db.selectFrom('journey_clusters').select(['cluster', 'region']).where('region', 'is not', null).execute();
  return new Map(rows.map((r) => [r.cluster, r.region!]));
}
