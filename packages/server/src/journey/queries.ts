import type { Storage } from '../storage/storage.ts';
import type { ChangesTable } from '../storage/schema.ts';
import { InputError, NotFoundError } from '../errors.ts';
import { NOT_ADOPTED_AFTER_MS } from './settings.ts';
import { approvalWaits, type ApprovalWait } from './waits.ts';
import type { ChangeDetail, ChangeSummary, FleetInstance, RingReach } from '@ringmaster/api';
export type { ChangeDetail, ChangeSummary, FleetInstance, RingReach, TargetState, TimelineEntry } from '@ringmaster/api';

export interface ChangeFilter {
  app?: string;
  team?: string;
  ring?: string;
  cluster?: string;
  author?: string;
  branch?: string;
  status?: string;
  /** committed at or after (epoch ms) */
  from?: number;
  /** committed before (epoch ms) */
  to?: number;
}

/** What a change's status depends on besides its row: when a commit stops waiting to be adopted. */
export interface StatusOptions {
  notAdoptedAfterMs?: number;
  now?: number;
}

/**
 * Changes whose last event is older than this and that no fleet change or release took up read "not adopted".
 * The last event, not the commit time: an old commit built again today is being worked on.
 */
function adoptionCutoff(options: StatusOptions): number {
  return (options.now ?? Date.now()) - (options.notAdoptedAfterMs ?? NOT_ADOPTED_AFTER_MS);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function summarize(c: ChangesTable, rings: RingReach[], waiting: ApprovalWait | null, cutoff: number): ChangeSummary {
  const notAdopted = c.status === 'in_progress' && c.fleet_revision === null && c.release_id === null && c.updated_at < cutoff;
  return {
    id: c.id, app: c.app, team: c.team, repository: c.repository, commit: c.commit_sha, title: c.title, author: c.author,
    authorEmail: c.author_email, branch: c.branch, stage: c.stage, status: notAdopted ? 'not_adopted' : c.status, committedAt: iso(c.committed_at)!,
    updatedAt: iso(c.updated_at)!, buildId: c.build_id, buildUrl: c.build_url, image: c.image, imageDigest: c.image_digest,
    fleetRevision: c.fleet_revision, release: c.release_id, failedAt: iso(c.failed_at), rings, waiting: notAdopted ? null : waiting,
  };
}

/** Cursor = the sort key of the last row seen, opaque to clients. */
function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}
/** A cursor is a client's input: anything but the pair this server wrote (JSON null, an object…) is a 400. */
function decodeCursor<A extends 'number' | 'string'>(cursor: string, first: A): [A extends 'number' ? number : string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[] | null;
    const firstOk = first === 'number' ? Number.isSafeInteger(v?.[0]) : typeof v?.[0] === 'string'; // JSON's 1e400 is Infinity
    if (Array.isArray(v) && v.length === 2 && firstOk && typeof v[1] === 'string') return v as [A extends 'number' ? number : string, string];
  } catch {
    // fall through
  }
  throw new InputError('cursor is not one this server returned', 'cursor');
}

/** Newest first, keyset-paginated: the cost of a page does not grow with how deep it is. */
export async function listChanges(storage: Storage, filter: ChangeFilter, page: { limit: number; cursor?: string }, options: StatusOptions = {}): Promise<{ items: ChangeSummary[]; nextCursor: string | null }> {
  const cutoff = adoptionCutoff(options);
  let q = storage.db.selectFrom('changes').selectAll('changes');
  if (filter.app) q = q.where('changes.app', '=', filter.app);
  if (filter.team) q = q.where('changes.team', '=', filter.team);
  if (filter.author) q = q.where((eb) => eb.or([eb('changes.author', '=', filter.author!), eb('changes.author_email', '=', filter.author!)]));
  if (filter.branch) q = q.where('changes.branch', '=', filter.branch);
  // "not adopted" is in_progress in the table, told apart by age and by nothing having taken it up
  const unadopted = (eb: any) => eb.and([eb('changes.fleet_revision', 'is', null), eb('changes.release_id', 'is', null), eb('changes.updated_at', '<', cutoff)]);
  if (filter.status === 'not_adopted') q = q.where('changes.status', '=', 'in_progress').where((eb) => unadopted(eb));
  else if (filter.status === 'in_progress') q = q.where('changes.status', '=', 'in_progress').where((eb) => eb.not(unadopted(eb)));
  else if (filter.status) q = q.where('changes.status', '=', filter.status);
  if (filter.from !== undefined) q = q.where('changes.committed_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('changes.committed_at', '<', filter.to);
  if (filter.ring) q = q.where((eb) => eb.exists(eb.selectFrom('change_targets as t').select('t.change_id').whereRef('t.change_id', '=', 'changes.id').where('t.ring', '=', filter.ring!)));
  if (filter.cluster) q = q.where((eb) => eb.exists(eb.selectFrom('change_targets as t').select('t.change_id').whereRef('t.change_id', '=', 'changes.id').where('t.cluster', '=', filter.cluster!)));
  if (page.cursor) {
    const [at, id] = decodeCursor(page.cursor, 'number');
    q = q.where((eb) => eb.or([eb('changes.committed_at', '<', at), eb.and([eb('changes.committed_at', '=', at), eb('changes.id', '<', id)])]));
  }
  const rows = await q.orderBy('changes.committed_at', 'desc').orderBy('changes.id', 'desc').limit(page.limit + 1).execute();
  const more = rows.length > page.limit;
  const pageRows = more ? rows.slice(0, page.limit) : rows;
  const ids = pageRows.map((r) => r.id);
  const [rings, waits] = await Promise.all([ringsOf(storage, ids), approvalWaits(storage, ids)]);
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map((r) => summarize(r, rings.get(r.id) ?? [], waits.get(r.id) ?? null, cutoff)),
    nextCursor: more && last ? encodeCursor(last.committed_at, last.id) : null,
  };
}

async function ringsOf(storage: Storage, ids: string[]): Promise<Map<string, RingReach[]>> {
  const out = new Map<string, RingReach[]>();
  if (ids.length === 0) return out;
  const [rows, counts] = await Promise.all([
    storage.db.selectFrom('change_rings').select(['change_id', 'ring', 'reached_at']).where('change_id', 'in', ids).orderBy('reached_at').execute(),
    storage.db.selectFrom('change_targets').select((eb) => [
      'change_id', 'ring', eb.fn.countAll<number>().as('targets'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'healthy').then(1).else(0).end()).as('healthy'),
      eb.fn.max<number>('healthy_at').as('last_healthy'),
    ]).where('change_id', 'in', ids).groupBy(['change_id', 'ring']).execute(),
  ]);
  const byRing = new Map(counts.map((c) => [`${c.change_id}\u0000${c.ring}`, c]));
  for (const r of rows) {
    const list = out.get(r.change_id) ?? [];
    const c = byRing.get(`${r.change_id}\u0000${r.ring}`);
    const targets = Number(c?.targets ?? 0);
    const healthy = Number(c?.healthy ?? 0);
    list.push({ ring: r.ring, reachedAt: iso(r.reached_at)!, targets, healthy, completedAt: targets > 0 && healthy === targets ? iso(Number(c!.last_healthy)) : null });
    out.set(r.change_id, list);
  }
  return out;
}

const TIMELINE_LIMIT = 2000;

export async function getChange(storage: Storage, id: string, options: StatusOptions = {}): Promise<ChangeDetail> {
  const row = await storage.db.selectFrom('changes').selectAll().where('id', '=', id.toLowerCase()).executeTakeFirst();
  if (!row) throw new NotFoundError(`no change with id "${id}"`);
  const [rings, waits, events, targets] = await Promise.all([
    ringsOf(storage, [row.id]),
    approvalWaits(storage, [row.id]),
    storage.db.selectFrom('event_changes as ec').innerJoin('events as e', 'e.id', 'ec.event_id').selectAll('e')
      .where('ec.change_id', '=', row.id).orderBy('e.occurred_at').orderBy('e.id').limit(TIMELINE_LIMIT).execute(),
    storage.db.selectFrom('change_targets').selectAll().where('change_id', '=', row.id).orderBy('ring').orderBy('cluster').orderBy('instance').execute(),
  ]);
  return {
    ...summarize(row, rings.get(row.id) ?? [], waits.get(row.id) ?? null, adoptionCutoff(options)),
    timeline: events.map((e) => ({
      id: e.id, kind: e.kind, source: e.source, occurredAt: iso(e.occurred_at)!, repository: e.repository, commit: e.commit_sha,
      buildId: e.build_id, image: e.image, release: e.release_id, ring: e.ring, cluster: e.cluster, instance: e.instance,
      status: e.status, url: e.url ?? e.build_url, author: e.author, message: e.message,
    })),
    targets: targets.map((t) => ({
      cluster: t.cluster, instance: t.instance, app: t.app, ring: t.ring, state: t.state, manifestCommit: t.manifest_commit,
      release: t.release_id, image: t.image, syncedAt: iso(t.synced_at), healthyAt: iso(t.healthy_at), updatedAt: iso(t.updated_at)!,
    })),
  };
}

/** The fleet now, one row per instance, keyset-paginated by (cluster, instance). */
export async function listFleet(storage: Storage, filter: { ring?: string; cluster?: string; app?: string; health?: string }, page: { limit: number; cursor?: string }) {
  let q = storage.db.selectFrom('fleet_state').selectAll();
  if (filter.ring) q = q.where('ring', '=', filter.ring);
  if (filter.cluster) q = q.where('cluster', '=', filter.cluster);
  if (filter.app) q = q.where('app', '=', filter.app);
  if (filter.health) q = q.where('health', '=', filter.health);
  if (page.cursor) {
    const c = decodeCursor(page.cursor, 'string');
    q = q.where((eb) => eb.or([eb('cluster', '>', c[0]), eb.and([eb('cluster', '=', c[0]), eb('instance', '>', c[1])])]));
  }
  const rows = await q.orderBy('cluster').orderBy('instance').limit(page.limit + 1).execute();
  const more = rows.length > page.limit;
  const items = (more ? rows.slice(0, page.limit) : rows).map((r): FleetInstance => ({
    cluster: r.cluster, instance: r.instance, app: r.app, ring: r.ring, release: r.release_id, image: r.image, revision: r.revision,
    change: r.change_id, sync: r.sync, health: r.health, updatedAt: iso(r.updated_at)!,
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? Buffer.from(JSON.stringify([last.cluster, last.instance])).toString('base64url') : null };
}

/** Per ring and cluster: how many instances, how many synced/healthy/degraded, and how many distinct releases. */
export async function fleetSummary(storage: Storage, filter: { ring?: string; app?: string }) {
  let q = storage.db.selectFrom('fleet_state').select((eb) => [
    'ring', 'cluster', eb.fn.countAll<number>().as('instances'),
    eb.fn.sum<number>(eb.case().when('health', '=', 'Healthy').then(1).else(0).end()).as('healthy'),
    eb.fn.sum<number>(eb.case().when('health', '=', 'Degraded').then(1).else(0).end()).as('degraded'),
    eb.fn.sum<number>(eb.case().when('sync', '=', 'Synced').then(1).else(0).end()).as('synced'),
    eb.fn.count<number>('release_id').distinct().as('releases'),
  ]).groupBy(['ring', 'cluster']);
  if (filter.ring) q = q.where('ring', '=', filter.ring);
  if (filter.app) q = q.where('app', '=', filter.app);
  const rows = await q.orderBy('ring').orderBy('cluster').execute();
  return rows.map((r) => ({
    ring: r.ring, cluster: r.cluster, instances: Number(r.instances), healthy: Number(r.healthy ?? 0),
    degraded: Number(r.degraded ?? 0), synced: Number(r.synced ?? 0), releases: Number(r.releases),
  }));
}

/** Who to call about what reached a ring in a window: authors grouped, with their apps, teams and changes. */
export async function contacts(storage: Storage, input: { ring: string; from: number; to: number; limit: number }) {
  const rows = await storage.db.selectFrom('change_rings as cr').innerJoin('changes as c', 'c.id', 'cr.change_id')
    .leftJoin('apps as a', 'a.app', 'c.app')
    .select(['c.id', 'c.author', 'c.author_email', 'c.app', 'c.team', 'c.title', 'cr.reached_at', 'a.contacts'])
    .where('cr.ring', '=', input.ring).where('cr.reached_at', '>=', input.from).where('cr.reached_at', '<', input.to)
    .orderBy('cr.reached_at', 'desc').limit(5000).execute();
  const byAuthor = new Map<string, { author: string | null; email: string | null; apps: Set<string>; teams: Set<string>; changes: Array<{ id: string; title: string | null; reachedAt: string }>; teamContacts: Set<string> }>();
  for (const r of rows) {
    const key = r.author_email ?? r.author ?? '(unknown)';
    let g = byAuthor.get(key);
    if (!g) byAuthor.set(key, (g = { author: r.author, email: r.author_email, apps: new Set(), teams: new Set(), changes: [], teamContacts: new Set() }));
    if (r.app) g.apps.add(r.app);
    if (r.team) g.teams.add(r.team);
    if (r.contacts) for (const c of JSON.parse(r.contacts) as string[]) g.teamContacts.add(c);
    if (g.changes.length < 20) g.changes.push({ id: r.id, title: r.title, reachedAt: iso(r.reached_at)! });
  }
  return [...byAuthor.values()].slice(0, input.limit).map((g) => ({
    author: g.author, email: g.email, apps: [...g.apps], teams: [...g.teams], teamContacts: [...g.teamContacts], changes: g.changes,
  }));
}
