import type { Storage } from '../storage/storage.ts';
import { clusterRegions } from './clusters.ts';
import { JourneyStore } from './store.ts';
import type { JourneySettings } from './settings.ts';
import { listChanges, type ChangeFilter } from './queries.ts';
import { heldBy, percentile } from './predict.ts';
import type { BoardRow, FleetMatrixRow, RingCell, StageCell } from '@ringmaster/api';
export type { BoardRow, FleetAppCell, FleetCell, FleetMatrixRow, RingCell, StageCell } from '@ringmaster/api';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const HISTORY = 200;

/** The ring order: configured, else the rings changes have reached, by typical lead time. */
export async function ringOrder(storage: Storage, settings: JourneySettings): Promise<string[]> {
  if (settings.rings.length > 0) return settings.rings;
  const [reached, fleet] = await Promise.all([
    storage.db.selectFrom('change_rings').select((eb) => ['ring', eb.fn.avg<number>('lead_ms').as('avg')]).groupBy('ring').execute(),
    storage.db.selectFrom('fleet_state').select('ring').distinct().where('ring', 'is not', null).execute(),
  ]);
  const order = reached.sort((a, b) => Number(a.avg) - Number(b.avg)).map((r) => r.ring);
  for (const r of fleet) if (r.ring && !order.includes(r.ring)) order.push(r.ring);
  return order;
}

const emptyStage = (): StageCell => ({ startedAt: null, finishedAt: null, status: null, url: null, ref: null });

type StageRow = Awaited<ReturnType<JourneyStore['boardStages']>>[number];
type TargetRow = Awaited<ReturnType<JourneyStore['boardTargets']>>[number];
const gateKey = (change: string, ring: string) => `${change}\u0000${ring}`;

/**
 * One page of the changes board: the change list plus, for those rows only, each stage's times
 * and each ring's counts, aggregated in the database, and the ETA of every ring an in-flight change
 * has not reached (history read once per app and ring, not per row).
 */
export async function changesBoard(storage: Storage, settings: JourneySettings, filter: ChangeFilter, page: { limit: number; cursor?: string }) {
  const store = new JourneyStore(storage.db);
  const [list, rings] = await Promise.all([listChanges(storage, filter, page, { notAdoptedAfterMs: settings.notAdoptedAfterMs }), ringOrder(storage, settings)]);
  const ids = list.items.map((c) => c.id);
  const rows: BoardRow[] = list.items.map((c) => ({
    ...c,
    stages: { commit: emptyStage(), build: emptyStage(), image: emptyStage(), config: emptyStage(), release: emptyStage() },
    pullRequestUrl: null, commitUrl: null, ringCells: Object.create(null) as Record<string, RingCell>,
  }));
  if (ids.length === 0) return { rings, items: rows, nextCursor: list.nextCursor };
  const byId = new Map(rows.map((r) => [r.id, r]));
  const [stageRows, targetRows, gateRows] = await Promise.all([store.boardStages(ids), store.boardTargets(ids), store.ringGates(ids)]);
  const gates = new Map<string, string>();
  for (const g of gateRows) if (g.ring && g.status) gates.set(gateKey(g.change_id, g.ring), g.status);
  for (const s of stageRows) {
    const row = byId.get(s.change_id);
    if (row) addStage(row, s, settings);
  }
  for (const row of rows) finishStages(row);
  for (const t of targetRows) {
    const row = byId.get(t.change_id);
    if (row && t.ring) row.ringCells[t.ring] = ringCell(row, t, gates.get(gateKey(t.change_id, t.ring)) ?? null);
  }
  await addEtas(store, rows, rings, gates);
  return { rings, items: rows, nextCursor: list.nextCursor };
}

/** Widens a stage cell to cover [at, end]. */
function widen(cell: StageCell, at: number, end: number): void {
  cell.startedAt = cell.startedAt && Date.parse(cell.startedAt) <= at ? cell.startedAt : iso(at);
  cell.finishedAt = cell.finishedAt && Date.parse(cell.finishedAt) >= end ? cell.finishedAt : iso(end);
}

/** Adds one (kind, repository, status) group of a change's events to its stage cells. */
function addStage(row: BoardRow, s: StageRow, settings: JourneySettings): void {
  const first = Number(s.first);
  const last = Number(s.last);
  const st = row.stages;
  switch (s.kind) {
    case 'commit':
      if (settings.fleetRepository && s.repository === settings.fleetRepository) {
        widen(st.config, first, first);
        st.config.ref = s.commit;
        st.config.url ??= s.url;
      } else if (settings.manifestRepository && s.repository === settings.manifestRepository) {
        // manifest commits are per cluster: they show in the ring cells
      } else if (!s.repository || s.repository === row.repository) {
        widen(st.commit, first, first);
        st.commit.ref = row.commit;
        row.commitUrl ??= s.url;
        st.commit.url = row.commitUrl;
      }
      break;
    case 'pr.merged':
      row.pullRequestUrl ??= s.url;
      break;
    case 'build.started':
      st.build.startedAt = iso(first);
      st.build.status ??= 'running';
      st.build.url ??= s.build_url ?? s.url;
      break;
    case 'build.finished':
      st.build.finishedAt = iso(last);
      st.build.status = s.status;
      st.build.url = s.build_url ?? s.url ?? st.build.url;
      break;
    case 'image.pushed':
      widen(st.image, first, last);
      st.image.status = 'pushed';
      break;
    case 'release':
      widen(st.release, first, last);
      st.release.ref = s.release;
      st.release.status = 'created';
      break;
  }
}

/** What the change row itself knows fills the stages no event did. */
function finishStages(row: BoardRow): void {
  row.stages.build.ref = row.buildId;
  row.stages.build.url ??= row.buildUrl;
  row.stages.image.ref = row.image;
  if (row.fleetRevision) row.stages.config.ref ??= row.fleetRevision;
  if (row.release) row.stages.release.ref ??= row.release;
  if (!row.stages.commit.startedAt) {
    row.stages.commit.startedAt = row.committedAt;
    row.stages.commit.finishedAt = row.committedAt;
    row.stages.commit.ref = row.commit;
  }
}

function ringCell(row: BoardRow, t: TargetRow, gate: string | null): RingCell {
  const targets = Number(t.targets);
  const healthy = Number(t.healthy ?? 0);
  return {
    targets, synced: Number(t.synced ?? 0), healthy, failed: Number(t.failed ?? 0), rolledBack: Number(t.rolled_back ?? 0),
    waiting: Number(t.waiting ?? 0), notReached: Number(t.not_reached ?? 0),
    reachedAt: row.rings.find((r) => r.ring === t.ring)?.reachedAt ?? null,
    completedAt: healthy === targets && targets > 0 ? iso(t.last_healthy) : null,
    gate, eta: null,
  };
}

/** ETAs: past lead times per (app, ring), read once for every app on this page. */
async function addEtas(store: JourneyStore, rows: BoardRow[], rings: string[], gates: Map<string, string>): Promise<void> {
  const inFlight = rows.filter((r) => r.status === 'in_progress');
  const histories = new Map<string, number[]>();
  const key = (app: string | null, ring: string) => `${app ?? ''}\u0000${ring}`;
  const needed = new Map<string, { app: string | null; ring: string }>();
  for (const r of inFlight) for (const ring of rings) if (!r.rings.some((x) => x.ring === ring)) needed.set(key(r.app, ring), { app: r.app, ring });
  await Promise.all([...needed].map(async ([k, { app, ring }]) => histories.set(k, await store.leadTimes(app, ring, HISTORY))));
  for (const r of inFlight) {
    const committed = Date.parse(r.committedAt);
    for (const ring of rings) {
      if (r.rings.some((x) => x.ring === ring)) continue;
      const sorted = histories.get(key(r.app, ring)) ?? [];
      const median = percentile(sorted, 0.5);
      const p90 = percentile(sorted, 0.9);
      const cell = r.ringCells[ring] ?? { targets: 0, synced: 0, healthy: 0, failed: 0, rolledBack: 0, waiting: 0, notReached: 0, reachedAt: null, completedAt: null, gate: gates.get(gateKey(r.id, ring)) ?? null, eta: null };
      // behind an approval no lead time predicts anything: the cell says who must act instead
      const held = heldBy(r.waiting, rings, ring);
      cell.eta = {
        expectedAt: median === null || held ? null : iso(committed + median), expectedAtP90: p90 === null || held ? null : iso(committed + p90),
        medianMs: median, samples: sorted.length, waitingFor: held,
      };
      r.ringCells[ring] = cell;
    }
  }
}

export interface FleetMatrixFilter {
  ring?: string;
  region?: string;
  app?: string;
  cluster?: string;
  health?: string;
  /** Only clusters with at least one instance out of sync with Git. */
  drift?: boolean;
}

/**
 * Instances Ringmaster's drift detection found drifted (drift_fields), and per cluster how many of
 * them the fleet state does not already count as OutOfSync (Argo CD's own verdict), within the filter.
 */
async function detectedDrift(storage: Storage, filter: FleetMatrixFilter): Promise<{ instances: Set<string>; extra: Map<string, number> }> {
  const rows = await storage.db.selectFrom('drift_fields').select(['cluster', 'instance']).distinct().limit(100_000).execute();
  const instances = new Set(rows.map((r) => `${r.cluster}\u0000${r.instance}`));
  const extra = new Map<string, number>();
  if (!rows.length) return { instances, extra };
  let q = storage.db.selectFrom('fleet_state').select(['cluster', 'instance', 'sync']).where('instance', 'in', [...new Set(rows.map((r) => r.instance))].slice(0, 10_000));
  if (filter.ring) q = q.where('ring', '=', filter.ring);
  if (filter.app) q = q.where('app', '=', filter.app);
  if (filter.health) q = q.where('health', '=', filter.health);
  for (const s of await q.execute()) {
    if (s.sync !== 'OutOfSync' && instances.has(`${s.cluster}\u0000${s.instance}`)) extra.set(s.cluster, (extra.get(s.cluster) ?? 0) + 1);
  }
  return { instances, extra };
}

/** Instance names are usually unique across the fleet (one per tenant or per cluster): a cell lists a few and counts the rest. */
const CELL_INSTANCES = 8;

/**
 * The fleet as a matrix: columns are apps, rows are clusters ordered by ring, region and name, and
 * each cell lists that app's instances on that cluster. Clusters are aggregated in the database and only one page of them carries cells,
 * so a response stays small however large the fleet is.
 */
export async function fleetMatrix(storage: Storage, settings: JourneySettings, regions: (cluster: string) => string | null,
  filter: FleetMatrixFilter, page: { offset: number; limit: number }) {
  let cq = storage.db.selectFrom('fleet_state').select((eb) => [
    'cluster', eb.fn.max<string>('ring').as('ring'), eb.fn.countAll<number>().as('instances'),
    eb.fn.sum<number>(eb.case().when('sync', '=', 'Synced').then(1).else(0).end()).as('synced'),
    eb.fn.sum<number>(eb.case().when('health', '=', 'Healthy').then(1).else(0).end()).as('healthy'),
    eb.fn.sum<number>(eb.case().when('health', '=', 'Degraded').then(1).else(0).end()).as('degraded'),
    eb.fn.sum<number>(eb.case().when('sync', '=', 'OutOfSync').then(1).else(0).end()).as('drifted'),
  ]).groupBy('cluster');
  if (filter.ring) cq = cq.where('ring', '=', filter.ring);
  if (filter.app) cq = cq.where('app', '=', filter.app);
  if (filter.health) cq = cq.where('health', '=', filter.health);
  if (filter.cluster) cq = cq.where('cluster', 'like', `%${filter.cluster.replace(/[%_]/g, '')}%`);
  let aq = storage.db.selectFrom('fleet_state').select((eb) => ['app', eb.fn.countAll<number>().as('instances'), eb.fn.count<number>('cluster').distinct().as('clusters')]).groupBy('app').orderBy('app');
  if (filter.app) aq = aq.where('app', '=', filter.app);
  if (filter.ring) aq = aq.where('ring', '=', filter.ring);
  if (filter.health) aq = aq.where('health', '=', filter.health);
  const [clusterRows, appRows, order, drifted] = await Promise.all([cq.execute(), aq.limit(200).execute(), ringOrder(storage, settings), detectedDrift(storage, filter)]);

  const rank = (ring: string | null) => (ring === null ? Number.MAX_SAFE_INTEGER : order.indexOf(ring) === -1 ? order.length : order.indexOf(ring));
  let clusters = clusterRows.map((c) => ({
    cluster: c.cluster, ring: c.ring, region: regions(c.cluster), instances: Number(c.instances), synced: Number(c.synced ?? 0),
    healthy: Number(c.healthy ?? 0), degraded: Number(c.degraded ?? 0), drifted: Number(c.drifted ?? 0) + (drifted.extra.get(c.cluster) ?? 0),
  }));
  if (filter.region) clusters = clusters.filter((c) => c.region === filter.region);
  if (filter.drift) clusters = clusters.filter((c) => c.drifted > 0);
  clusters.sort((a, b) => rank(a.ring) - rank(b.ring) || (a.ring ?? '').localeCompare(b.ring ?? '')
    || (a.region ?? '\uffff').localeCompare(b.region ?? '\uffff') || a.cluster.localeCompare(b.cluster));

  // Group totals (ring → region) for the whole filtered fleet, so headers are right on every page.
  const groups = new Map<string, { ring: string | null; region: string | null; clusters: number; instances: number; healthy: number; synced: number; degraded: number; drifted: number }>();
  for (const c of clusters) {
    const k = `${c.ring}\u0000${c.region}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ring: c.ring, region: c.region, clusters: 0, instances: 0, healthy: 0, synced: 0, degraded: 0, drifted: 0 }));
    g.clusters++;
    g.instances += c.instances;
    g.healthy += c.healthy;
    g.synced += c.synced;
    g.degraded += c.degraded;
    g.drifted += c.drifted;
  }

  const pageClusters = clusters.slice(page.offset, page.offset + page.limit);
  const rows: FleetMatrixRow[] = pageClusters.map((c) => ({ ...c, cells: {} }));
  if (rows.length > 0) {
    const byCluster = new Map(rows.map((r) => [r.cluster, r]));
    let q = storage.db.selectFrom('fleet_state').selectAll().where('cluster', 'in', rows.map((r) => r.cluster));
    if (filter.app) q = q.where('app', '=', filter.app);
    if (filter.health) q = q.where('health', '=', filter.health);
    // problems first, so that a cell that lists only some of its instances still shows every broken one
    const trouble = (r: { cluster: string; instance: string; health: string | null; sync: string | null }) => (r.health === 'Degraded' || r.health === 'Missing' ? 0 : r.sync === 'OutOfSync' || drifted.instances.has(`${r.cluster}\u0000${r.instance}`) ? 1 : 2);
    const found = (await q.execute()).sort((a, b) => trouble(a) - trouble(b) || a.instance.localeCompare(b.instance));
    for (const r of found) {
      const row = byCluster.get(r.cluster)!;
      const cell = (row.cells[r.app ?? ''] ??= { instances: [], more: 0, healthy: 0, degraded: 0, drifted: 0 });
      if (r.health === 'Healthy') cell.healthy++;
      if (r.health === 'Degraded') cell.degraded++;
      const drift = r.sync === 'OutOfSync' || drifted.instances.has(`${r.cluster}\u0000${r.instance}`);
      if (drift) cell.drifted++;
      if (cell.instances.length >= CELL_INSTANCES) {
        cell.more++;
        continue;
      }
      cell.instances.push({
        instance: r.instance, release: r.release_id, image: r.image, revision: r.revision, change: r.change_id, sync: r.sync, health: r.health,
        drift, updatedAt: iso(r.updated_at)!,
      });
    }
  }
  return {
    rings: order,
    apps: appRows.map((a) => ({ app: a.app ?? '', instances: Number(a.instances), clusters: Number(a.clusters) })),
    groups: [...groups.values()],
    total: clusters.length,
    offset: page.offset,
    limit: page.limit,
    clusters: rows,
  };
}

/** Values for the dashboard's filter pickers, each list bounded. */
export async function facets(storage: Storage, settings: JourneySettings, regions: string[]) {
  const [apps, teams, clusters, authors, branches, rings] = await Promise.all([
    storage.db.selectFrom('changes').select('app').distinct().where('app', 'is not', null).orderBy('app').limit(500).execute(),
    storage.db.selectFrom('apps').select('team').distinct().where('team', 'is not', null).orderBy('team').limit(500).execute(),
    storage.db.selectFrom('fleet_state').select('cluster').distinct().orderBy('cluster').limit(2000).execute(),
    storage.db.selectFrom('changes').select('author').distinct().where('author', 'is not', null).orderBy('author').limit(500).execute(),
    storage.db.selectFrom('changes').select('branch').distinct().where('branch', 'is not', null).orderBy('branch').limit(200).execute(),
    ringOrder(storage, settings),
  ]);
  return {
    apps: apps.map((a) => a.app!), teams: teams.map((t) => t.team!), rings, regions,
    clusters: clusters.map((c) => c.cluster), authors: authors.map((a) => a.author!), branches: branches.map((b) => b.branch!),
  };
}

/**
 * Clusters' regions: from the fleet model's cluster definitions (recorded with each release), else as
 * sync/health events reported them (journey/clusters.ts).
 */
export async function loadRegions(storage: Storage): Promise<Map<string, string>> {
  return clusterRegions(storage.db);
}
