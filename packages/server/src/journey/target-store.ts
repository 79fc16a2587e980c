import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.ts';
import { nextTargetState, TARGET_TRANSITIONS, type TargetEvent, type TargetState } from './targets.ts';

/** What an event sets on a target besides its state. */
export interface TargetPatch {
  ring?: string | null;
  app?: string | null;
  manifest_commit?: string;
  release_id?: string | null;
  synced_at?: number;
  healthy_at?: number;
  image?: string;
}

/** The SQL of a change's targets (change_targets), in the recorder's transaction; states move by the transition table. */
export class TargetStore {
  constructor(private readonly db: Kysely<Database>, private readonly now: number) {}

  /**
   * Sets the state of a change's target rows on a cluster. Without an instance, every row of that
   * cluster is updated (a manifest commit covers the whole cluster); a row is created if none exists.
   * The state moves by the transition table (targets.ts), so an older event cannot undo a newer one.
   */
  async upsert(changeId: string, cluster: string, instance: string | undefined, patch: TargetPatch, event: TargetEvent): Promise<void> {
    let q = this.db.selectFrom('change_targets').selectAll().where('change_id', '=', changeId).where('cluster', '=', cluster);
    // a row for the whole cluster ('' instance, from a step or manifest commit) becomes the first instance reported there,
    // so the cluster is not counted twice, once of them never healthy
    if (instance !== undefined) q = q.where('instance', 'in', [instance, '']);
    let rows = await q.execute();
    if (instance !== undefined && rows.length > 1) rows = rows.filter((r) => r.instance === instance);
    if (rows.length === 0) {
      await this.db.insertInto('change_targets').values({
        change_id: changeId, cluster, instance: instance ?? '', app: patch.app ?? null, ring: patch.ring ?? null, state: TARGET_TRANSITIONS[event].to,
        manifest_commit: patch.manifest_commit ?? null, release_id: patch.release_id ?? null,
        synced_at: patch.synced_at ?? null, healthy_at: patch.healthy_at ?? null, updated_at: this.now, image: patch.image ?? null,
      }).onConflict((oc) => oc.doNothing()).execute();
      return;
    }
    for (const row of rows) {
      const set: Record<string, unknown> = { updated_at: this.now };
      if (instance !== undefined && row.instance === '') set.instance = instance;
      if (patch.image) set.image = patch.image;
      const state = nextTargetState(row.state as TargetState, event);
      if (state) set.state = state;
      if (patch.ring && !row.ring) set.ring = patch.ring;
      if (patch.app && !row.app) set.app = patch.app;
      if (patch.manifest_commit) set.manifest_commit = patch.manifest_commit;
      if (patch.release_id) set.release_id = patch.release_id;
      if (patch.synced_at && !row.synced_at) set.synced_at = patch.synced_at;
      if (patch.healthy_at && !row.healthy_at) set.healthy_at = patch.healthy_at;
      await this.db.updateTable('change_targets').set(set).where('change_id', '=', changeId).where('cluster', '=', cluster)
        .where('instance', '=', row.instance).execute();
    }
  }

  /** Moves every target of a change (in one ring, or all) that the event moves. */
  async move(changeId: string, ring: string | undefined, event: TargetEvent): Promise<void> {
    const t = TARGET_TRANSITIONS[event];
    let q = this.db.updateTable('change_targets').set({ state: t.to, updated_at: this.now }).where('change_id', '=', changeId);
    if (ring !== undefined) q = q.where('ring', '=', ring);
    if (t.from !== null) q = q.where('state', 'in', [...t.from]);
    await q.execute();
  }
}
