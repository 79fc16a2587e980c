import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database, ChangesTable, FleetStateTable } from '../storage/schema.ts';

export type Trx = Transaction<Database> | Kysely<Database>;
export type EventsRow = Omit<Database['events'], 'id'>;

const EVENT_COLUMNS: Array<keyof EventsRow> = [
  'kind', 'source', 'delivery_id', 'idempotency_key', 'app', 'team', 'repository', 'commit_sha', 'previous_commit', 'branch',
  'author', 'author_email', 'message', 'build_id', 'build_url', 'image', 'image_digest', 'release_id', 'ring', 'cluster',
  'instance', 'status', 'url', 'occurred_at', 'received_at', 'data',
];
const CHANGE_COLUMNS: Array<keyof ChangesTable> = [
  'id', 'app', 'team', 'repository', 'commit_sha', 'branch', 'author', 'author_email', 'title', 'committed_at', 'updated_at',
  'stage', 'status', 'build_id', 'build_url', 'image', 'image_digest', 'fleet_revision', 'release_id', 'failed_at',
];
const templates = new Map<string, string>();

/** Rows per multi-row event insert: 26 parameters each stays far below both dialects' parameter limits. */
const EVENT_CHUNK = 100;
const CHANGE_CHUNK = 100;
/** Event ↔ change links per statement. */
const LINK_CHUNK = 500;

/**
 * The event and change inserts are the hottest statements; building them through the query builder for
 * every event costs more than running them, so their SQL is compiled once per dialect and reused.
 */
function template(trx: Trx, name: 'event' | 'change', rows = 1): string {
  const key = `${trx.getExecutor().adapter.constructor.name}:${name}:${rows}`;
  let text = templates.get(key);
  if (!text) {
    if (name === 'event') {
      const sample = Object.fromEntries(EVENT_COLUMNS.map((c) => [c, null])) as unknown as EventsRow;
      text = trx.insertInto('events').values(Array.from({ length: rows }, () => sample))
        .onConflict((oc) => oc.column('idempotency_key').where('idempotency_key', 'is not', null).doNothing())
        .returning(['id', 'idempotency_key']).compile().sql;
    } else {
      const sample = Object.fromEntries(CHANGE_COLUMNS.map((c) => [c, null])) as unknown as ChangesTable;
      text = trx.insertInto('changes').values(Array.from({ length: rows }, () => sample)).onConflict((oc) => oc.column('id').doNothing()).returning('id').compile().sql;
    }
    templates.set(key, text);
  }
  return text;
}

/** What the recorder keeps of an instance on a cluster (fleet_state). */
export type FleetStatePatch = Omit<FleetStateTable, 'cluster' | 'instance'>;

/**
 * The journey's write-side SQL — events, deliveries, changes, their keys, fleet state, incidents and
 * rings reached — in the recorder's transaction. The recorder (record.ts) decides; this store only reads and writes.
 */
export class ChangeStore {
  constructor(private readonly trx: Trx, private readonly now: number) {}

  /**
   * Inserts events with multi-row statements; answers each event's id, or undefined when its idempotency
   * key was seen before (or earlier in the same batch). Ids grow in the order of the VALUES list on both
   * dialects (rowid / sequence), which is how returned rows are matched back to events.
   */
  async insertEvents(rows: EventsRow[]): Promise<Array<number | undefined>> {
    const ids: Array<number | undefined> = [];
    for (let start = 0; start < rows.length; start += EVENT_CHUNK) {
      const chunk = rows.slice(start, start + EVENT_CHUNK);
      const params = chunk.flatMap((row) => EVENT_COLUMNS.map((c) => row[c]));
      const res = await this.trx.executeQuery<{ id: number; idempotency_key: string | null }>(CompiledQuery.raw(template(this.trx, 'event', chunk.length), params));
      const returned = res.rows.map((r) => ({ id: Number(r.id), key: r.idempotency_key })).sort((a, b) => a.id - b.id);
      const insertedKeys = new Set(returned.filter((r) => r.key !== null).map((r) => r.key));
      let next = 0;
      for (const row of chunk) {
        const key = row.idempotency_key;
        const inserted = key === null || insertedKeys.delete(key);
        ids.push(inserted ? returned[next++]!.id : undefined);
      }
    }
    return ids;
  }

  /** Inserts delivery rows; true when every one was new. */
  async claimDeliveries(rows: Array<{ source: string; delivery_id: string; received_at: number; events: number }>): Promise<boolean> {
    const inserted = await this.trx.insertInto('deliveries').values(rows)
      .onConflict((oc) => oc.columns(['source', 'delivery_id']).doNothing())
      .returning('delivery_id').execute();
    return inserted.length === rows.length;
  }

  /** Joins events to their changes, many links per statement. */
  async linkEvents(links: Array<{ event_id: number; change_id: string }>): Promise<void> {
    for (let i = 0; i < links.length; i += LINK_CHUNK) {
      await this.trx.insertInto('event_changes').values(links.slice(i, i + LINK_CHUNK)).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  /** Inserts changes (ignoring ids that exist); answers the ids inserted. */
  async insertChanges(rows: ChangesTable[]): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < rows.length; start += CHANGE_CHUNK) {
      const chunk = rows.slice(start, start + CHANGE_CHUNK);
      const res = await this.trx.executeQuery<{ id: string }>(CompiledQuery.raw(template(this.trx, 'change', chunk.length), chunk.flatMap((row) => CHANGE_COLUMNS.map((c) => row[c]))));
      ids.push(...res.rows.map((r) => r.id));
    }
    return ids;
  }

  async change(id: string) {
    return this.trx.selectFrom('changes').select(['stage', 'status', 'app', 'team', 'committed_at', 'failed_at']).where('id', '=', id).executeTakeFirst();
  }

  async setChange(id: string, set: Partial<ChangesTable>): Promise<void> {
    await this.trx.updateTable('changes').set(set).where('id', '=', id).execute();
  }

  /** Marks every ring the change reached as reached by a failed change. */
  async failRings(id: string): Promise<void> {
    await this.trx.updateTable('change_rings').set({ failed: 1 }).where('change_id', '=', id).execute();
  }

  /** Whether a build of this change succeeded after `at` (deliveries arrive out of order); read through the timeline's index. */
  async succeededLater(id: string, at: number): Promise<boolean> {
    const row = await this.trx.selectFrom('event_changes as ec').innerJoin('events as e', 'e.id', 'ec.event_id').select('e.id')
      .where('ec.change_id', '=', id).where('e.kind', '=', 'build.finished').where('e.status', '=', 'succeeded').where('e.occurred_at', '>', at)
      .limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Undoes a build failure at or before `at`, for a change still before the stages given. */
  async clearFailure(id: string, at: number, stages: readonly string[]): Promise<void> {
    await this.trx.updateTable('changes').set({ status: 'in_progress', failed_at: null, updated_at: this.now })
      .where('id', '=', id).where('status', '=', 'failed').where('failed_at', '<=', at)
      .where('stage', 'in', [...stages]).execute();
  }

  /** Changes by id (commits) or by key (build, image, release, manifest, fleet). */
  async findChanges(keys: Array<[string, string]>): Promise<string[]> {
    const commits = keys.filter(([kind]) => kind === 'commit').map(([, value]) => value);
    const others = keys.filter(([kind]) => kind !== 'commit');
    const found: string[] = [];
    if (commits.length > 0) {
      found.push(...(await this.trx.selectFrom('changes').select('id').where('id', 'in', commits).execute()).map((r) => r.id));
    }
    if (others.length > 0) {
      const rows = await this.trx.selectFrom('change_keys').select('change_id')
        .where((eb) => eb.or(others.map(([kind, value]) => eb.and([eb('kind', '=', kind), eb('value', '=', value)]))))
        .execute();
      found.push(...rows.map((r) => r.change_id));
    }
    return [...new Set(found)];
  }

  async addKeys(changeId: string, keys: Array<[string, string]>): Promise<void> {
    if (keys.length === 0) return;
    await this.trx.insertInto('change_keys').values(keys.map(([kind, value]) => ({ kind, value, change_id: changeId })))
      .onConflict((oc) => oc.doNothing()).execute();
  }

  async fleetState(cluster: string, instance: string) {
    return this.trx.selectFrom('fleet_state').selectAll().where('cluster', '=', cluster).where('instance', '=', instance).executeTakeFirst();
  }

  async setFleetState(cluster: string, instance: string, patch: FleetStatePatch): Promise<void> {
    await this.trx.insertInto('fleet_state').values({ cluster, instance, ...patch })
      .onConflict((oc) => oc.columns(['cluster', 'instance']).doUpdateSet(patch)).execute();
  }

  /** The ring a change targets on a cluster. */
  async targetRing(changeId: string, cluster: string): Promise<string | null | undefined> {
    return (await this.trx.selectFrom('change_targets').select(['ring']).where('change_id', '=', changeId).where('cluster', '=', cluster).executeTakeFirst())?.ring;
  }

  /** The image a change's render runs on one instance of a cluster. */
  async targetImage(changeId: string, cluster: string, instance: string): Promise<string | null | undefined> {
    return (await this.trx.selectFrom('change_targets').select('image').where('change_id', '=', changeId)
      .where('cluster', '=', cluster).where('instance', '=', instance).executeTakeFirst())?.image;
  }

  /** Whether the change has a target in the ring that is not healthy yet. */
  async ringOpen(changeId: string, ring: string): Promise<boolean> {
    const open = await this.trx.selectFrom('change_targets').select('cluster').where('change_id', '=', changeId).where('ring', '=', ring)
      .where('state', '!=', 'healthy').limit(1).executeTakeFirst();
    return open !== undefined;
  }

  /** Of these changes, the latest committed. */
  async latestChange(ids: string[]) {
    if (ids.length === 0) return undefined;
    return this.trx.selectFrom('changes').select(['id', 'image', 'release_id', 'app']).where('id', 'in', ids).orderBy('committed_at', 'desc').executeTakeFirst();
  }

  async openIncident(cluster: string, instance: string) {
    return this.trx.selectFrom('incidents').select('id').where('cluster', '=', cluster).where('instance', '=', instance)
      .where('restored_at', 'is', null).executeTakeFirst();
  }

  async openIncidentFor(row: { app: string | null; team: string | null; ring: string | null; cluster: string; instance: string; change_id: string | null; started_at: number }): Promise<void> {
    await this.trx.insertInto('incidents').values({ ...row, restored_at: null }).execute();
  }

  async restoreIncident(id: number, at: number): Promise<void> {
    await this.trx.updateTable('incidents').set({ restored_at: at }).where('id', '=', id).execute();
  }

  /** Records the first time a change reached a ring. */
  async reachRing(row: Database['change_rings']): Promise<void> {
    await this.trx.insertInto('change_rings').values(row).onConflict((oc) => oc.columns(['change_id', 'ring']).doNothing()).execute();
  }

  /** A change in progress whose last ring is healthy everywhere succeeded. */
  async succeed(id: string): Promise<void> {
    await this.trx.updateTable('changes').set({ status: 'succeeded', updated_at: this.now }).where('id', '=', id).where('status', '=', 'in_progress').execute();
  }

  async appOfRepository(repository: string): Promise<string | null> {
    return (await this.trx.selectFrom('app_repositories').select('app').where('repository', '=', repository).executeTakeFirst())?.app ?? null;
  }

  async teamOf(app: string): Promise<string | null> {
    return (await this.trx.selectFrom('apps').select('team').where('app', '=', app).executeTakeFirst())?.team ?? null;
  }

  /** Records an app's team unless one is set already. */
  async teachTeam(app: string, team: string): Promise<void> {
    await this.trx.insertInto('apps').values({ app, team, contacts: null, updated_at: this.now })
      .onConflict((oc) => oc.column('app').doNothing()).execute();
  }
}
