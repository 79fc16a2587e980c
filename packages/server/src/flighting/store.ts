import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../storage/schema.ts';
import { FreezeStore } from './freezes.ts';
import { TERMINAL_STATES, phaseText, type FlightState, type StepInstance, type StepKind, type StepPhase } from './model.ts';
import { MeasurementStore } from './measurement-store.ts';
import type { DeliveredTable, ReleaseRingsTable, ReleaseStepsTable, ReleaseWavesTable, ReleasesTable } from './tables.ts';
import { AlertStore } from './alert-store.ts';
import { concurrencyFacts } from './concurrency-store.ts';
import { toRelease, toRing, toStep, toWave, type Approval, type Release, type ReleaseSnapshot, type Ring, type Step, type Wave } from './steps.ts';

/** What a store reads and writes through: the storage, or the engine's lease-fenced view of it. */
export interface StoreDatabase {
  readonly db: Kysely<Database>;
}

/** A change to a step row; `finishedAt` and `updatedAt` are the time of the change. */
export interface StepChange {
  phase?: StepPhase;
  state?: FlightState;
  reason?: string | null;
  manifestCommit?: string;
  deadlineAt?: number;
  finished?: boolean;
}

/** What a manifest commit of a step records: the commit, and per instance what the manifest repo holds now. */
export interface WriteRecord {
  commit: string;
  next: StepPhase;
  deadlineAt?: number;
  held: Array<{ instance: StepInstance; releaseId: string | null; digest: string | null }>;
}

export type NewRelease = Selectable<ReleasesTable>;
export interface NewRing {
  row: Selectable<ReleaseRingsTable>;
  waves: Array<{ row: Selectable<ReleaseWavesTable>; steps: Array<Selectable<ReleaseStepsTable>> }>;
}

/** Every SQL statement of flighting: releases, their rings, waves, steps and approvals, and what is delivered. */
export class FlightStore {
  constructor(private readonly storage: StoreDatabase) {}

  private get db(): Kysely<Database> {
    return this.storage.db;
  }

  /** Releases not in a terminal state, oldest first. */
  async activeIds(): Promise<string[]> {
    return (await this.db.selectFrom('releases').select('id').where('state', 'not in', [...TERMINAL_STATES]).orderBy('created_at').execute()).map((r) => r.id);
  }

  async findActive(): Promise<{ id: string; state: string } | undefined> {
    return this.db.selectFrom('releases').select(['id', 'state']).where('state', 'not in', [...TERMINAL_STATES]).executeTakeFirst();
  }

  async release(id: string): Promise<Release | undefined> {
    const row = await this.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRelease(row) : undefined;
  }

  async rings(id: string): Promise<Ring[]> {
    return (await this.db.selectFrom('release_rings').selectAll().where('release_id', '=', id).orderBy('position').execute()).map(toRing);
  }

  async waves(id: string): Promise<Wave[]> {
    return (await this.db.selectFrom('release_waves').selectAll().where('release_id', '=', id).orderBy('wave').execute()).map(toWave);
  }

  async steps(id: string, kind?: StepKind): Promise<Step[]> {
    let q = this.db.selectFrom('release_steps').selectAll().where('release_id', '=', id);
    if (kind) q = q.where('step', '=', kind);
    return (await q.orderBy('position').execute()).map(toStep);
  }

  async approvals(id: string): Promise<Approval[]> {
    return this.db.selectFrom('release_approvals').selectAll().where('release_id', '=', id).orderBy('id').execute();
  }

  /** A release with its rings, waves and steps; undefined when it does not exist. */
  async snapshot(id: string): Promise<ReleaseSnapshot | undefined> {
    const release = await this.release(id);
    if (!release) return undefined;
    const [rings, waves, steps, measurements, holds, alerts, concurrency] = await Promise.all([this.rings(id), this.waves(id), this.steps(id), new MeasurementStore(this.storage).list(id), new FreezeStore(this.storage).facts(id), new AlertStore(this.storage).alerts(id), concurrencyFacts(this.db, release)]);
    return { release, rings, waves, deliver: steps.filter((s) => s.step === 'deliver'), rollback: steps.filter((s) => s.step === 'rollback'), measurements, holds, alerts, ...concurrency };
  }

  async setRelease(id: string, now: number, set: { state?: FlightState; reason?: string | null; finished?: boolean; paused?: boolean }): Promise<void> {
    await this.db.updateTable('releases').set({
      ...(set.state ? { state: set.state } : {}), ...(set.reason !== undefined ? { reason: set.reason } : {}),
      ...(set.paused !== undefined ? { paused: set.paused ? 1 : 0 } : {}), ...(set.finished ? { finished_at: now } : {}), updated_at: now,
    }).where('id', '=', id).execute();
  }

  async setRing(id: string, ring: string, set: { state: FlightState; startedAt?: number; finishedAt?: number }): Promise<void> {
    await this.db.updateTable('release_rings').set({
      state: set.state, ...(set.startedAt !== undefined ? { started_at: set.startedAt } : {}), ...(set.finishedAt !== undefined ? { finished_at: set.finishedAt } : {}),
    }).where('release_id', '=', id).where('ring', '=', ring).execute();
  }

  async setWave(id: string, ring: string, wave: number, set: { state: FlightState; startedAt?: number; deadlineAt?: number; soakUntil?: number; finishedAt?: number }): Promise<void> {
    await this.db.updateTable('release_waves').set({
      state: set.state, ...(set.startedAt !== undefined ? { started_at: set.startedAt } : {}), ...(set.deadlineAt !== undefined ? { deadline_at: set.deadlineAt } : {}),
      ...(set.soakUntil !== undefined ? { soak_until: set.soakUntil } : {}), ...(set.finishedAt !== undefined ? { finished_at: set.finishedAt } : {}),
    }).where('release_id', '=', id).where('ring', '=', ring).where('wave', '=', wave).execute();
  }

  /** Puts steps in flight at their first phase. */
  async startSteps(id: string, kind: StepKind, clusters: string[], now: number): Promise<void> {
    if (clusters.length === 0) return;
    await this.db.updateTable('release_steps').set({ state: 'in_progress', phase: phaseText({ kind: 'write' }), started_at: now, updated_at: now })
      .where('release_id', '=', id).where('step', '=', kind).where('cluster', 'in', clusters).execute();
  }

  async updateStep(step: Step, now: number, set: StepChange): Promise<void> {
    await this.db.updateTable('release_steps').set({
      ...(set.phase ? { phase: phaseText(set.phase) } : {}), ...(set.state ? { state: set.state } : {}), ...(set.reason !== undefined ? { reason: set.reason?.slice(0, 2000) ?? null } : {}),
      ...(set.manifestCommit ? { manifest_commit: set.manifestCommit } : {}), ...(set.deadlineAt ? { deadline_at: set.deadlineAt } : {}),
      ...(set.finished ? { finished_at: now } : {}), updated_at: now,
    }).where('release_id', '=', step.releaseId).where('step', '=', step.step).where('cluster', '=', step.cluster).execute();
  }

  /** Records a step's manifest commit: what the manifest repo holds per instance, and the step's next phase. */
  async recordWrite(step: Step, now: number, w: WriteRecord): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const h of w.held) {
        const i = h.instance;
        if (h.digest === null || h.releaseId === null) {
          await trx.deleteFrom('delivered').where('cluster', '=', step.cluster).where('instance', '=', i.instance).execute();
        } else {
          const row = { cluster: step.cluster, instance: i.instance, app: i.app, namespace: i.namespace, release_id: h.releaseId, digest: h.digest, updated_at: now };
          await trx.insertInto('delivered').values(row).onConflict((oc) => oc.columns(['cluster', 'instance']).doUpdateSet({ app: row.app, namespace: row.namespace, release_id: row.release_id, digest: row.digest, updated_at: now })).execute();
        }
      }
      await trx.updateTable('release_steps').set({ manifest_commit: w.commit, phase: phaseText(w.next), updated_at: now, ...(w.deadlineAt ? { deadline_at: w.deadlineAt } : {}) })
        .where('release_id', '=', step.releaseId).where('step', '=', step.step).where('cluster', '=', step.cluster).execute();
    });
  }

  /** Stops the rollout at a ring: its waves fail, the ring and the release halt, steps in flight halt. */
  async halt(id: string, ring: string, reason: string, finished: boolean, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('release_waves').set({ state: 'failed', finished_at: now }).where('release_id', '=', id).where('ring', '=', ring).where('state', 'in', ['in_progress', 'soaking']).execute();
      await trx.updateTable('release_rings').set({ state: 'halted', finished_at: now }).where('release_id', '=', id).where('ring', '=', ring).execute();
      await trx.updateTable('release_steps').set({ state: 'halted', updated_at: now }).where('release_id', '=', id).where('step', '=', 'deliver').where('state', '=', 'in_progress').execute();
      await trx.updateTable('releases').set({ state: 'halted', reason, updated_at: now, finished_at: finished ? now : null }).where('id', '=', id).execute();
    });
  }

  /**
   * Turns a release into its rollback: one rollback step per cluster the release wrote to, which
   * re-delivers what each instance held before (the previous release's render, or nothing).
   */
  async startRollback(id: string, reason: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const touched = await trx.selectFrom('release_steps').selectAll().where('release_id', '=', id).where('step', '=', 'deliver').where('manifest_commit', 'is not', null).orderBy('position').execute();
      for (const s of touched) {
        await trx.insertInto('release_steps').values({ ...s, step: 'rollback', state: 'pending', phase: phaseText({ kind: 'write' }), manifest_commit: null, reason: null, started_at: null, deadline_at: null, finished_at: null, updated_at: now })
          .onConflict((oc) => oc.columns(['release_id', 'step', 'cluster']).doNothing()).execute();
      }
      await trx.updateTable('release_steps').set({ state: 'aborted', updated_at: now }).where('release_id', '=', id).where('step', '=', 'deliver').where('state', '=', 'pending').execute();
      await trx.updateTable('releases').set({ phase: 'rollback', state: 'in_progress', paused: 0, reason, updated_at: now, finished_at: null }).where('id', '=', id).execute();
    });
  }

  /** Ends a rollback: rolled back when no step failed (what it had delivered, the rings it started), else failed with why. */
  async finishRollback(id: string, failure: string | null, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (failure === null) {
        await trx.updateTable('release_steps').set({ state: 'rolled_back', updated_at: now }).where('release_id', '=', id).where('step', '=', 'deliver').where('manifest_commit', 'is not', null).execute();
        await trx.updateTable('release_rings').set({ state: 'rolled_back', finished_at: now }).where('release_id', '=', id).where('state', 'in', ['halted', 'succeeded', 'in_progress', 'aborted', 'paused']).where('started_at', 'is not', null).execute();
      }
      await trx.updateTable('release_steps').set({ state: 'aborted', updated_at: now }).where('release_id', '=', id).where('step', '=', 'deliver').where('state', 'in', ['pending', 'in_progress', 'halted']).execute();
      await trx.updateTable('releases').set({ state: failure === null ? 'rolled_back' : 'failed', updated_at: now, finished_at: now, ...(failure === null ? {} : { reason: failure }) }).where('id', '=', id).execute();
    });
  }

  /** Ends a release by hand: what has not finished is aborted. */
  async abort(id: string, reason: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('release_steps').set({ state: 'aborted', updated_at: now }).where('release_id', '=', id).where('state', 'in', ['pending', 'in_progress']).execute();
      await trx.updateTable('release_waves').set({ state: 'aborted', finished_at: now }).where('release_id', '=', id).where('state', 'in', ['pending', 'in_progress', 'soaking']).execute();
      await trx.updateTable('release_rings').set({ state: 'aborted', finished_at: now }).where('release_id', '=', id).where('state', 'in', ['pending', 'in_progress', 'waiting_for_approval']).execute();
      await trx.updateTable('releases').set({ state: 'aborted', reason, updated_at: now, finished_at: now }).where('id', '=', id).execute();
    });
  }

  async approve(id: string, ring: string, actor: string, comment: string | null, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('release_rings').set({ approved_by: actor, approved_at: now }).where('release_id', '=', id).where('ring', '=', ring).execute();
      await trx.insertInto('release_approvals').values({ release_id: id, ring, actor, at: now, result: 'approved', reason: comment }).execute();
    });
  }

  /** The longest progress deadline of a release's rings: how long each of its rollback steps may take. */
  async rollbackDeadline(id: string): Promise<number> {
    return Math.max(0, ...(await this.rings(id)).map((r) => r.policy.progressDeadlineMs));
  }

  /** Every instance the manifest repo holds, with the release whose render it is. */
  async delivered(): Promise<Array<Selectable<DeliveredTable>>> {
    return this.db.selectFrom('delivered').selectAll().execute();
  }

  /** What other releases hold on these clusters now. */
  async deliveredByOthers(id: string, clusters: string[]): Promise<Array<{ cluster: string; instance: string; release_id: string }>> {
    if (clusters.length === 0) return [];
    return this.db.selectFrom('delivered').select(['cluster', 'instance', 'release_id']).where('release_id', '!=', id).where('cluster', 'in', clusters).execute();
  }

  /** Every (ring, instances) of a release's steps, or of one ring's. */
  async stepTargets(id: string, ring?: string): Promise<Array<{ ring: string; instances: StepInstance[] }>> {
    let q = this.db.selectFrom('release_steps').select(['ring', 'instances']).where('release_id', '=', id);
    if (ring) q = q.where('ring', '=', ring);
    return (await q.execute()).map((r) => ({ ring: r.ring, instances: JSON.parse(r.instances) as StepInstance[] }));
  }

  /** Writes a new release, its rings, waves and steps in one transaction. */
  async insertRelease(release: NewRelease, rings: NewRing[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('releases').values(release).execute();
      for (const ring of rings) {
        await trx.insertInto('release_rings').values(ring.row).execute();
        for (const wave of ring.waves) {
          await trx.insertInto('release_waves').values(wave.row).execute();
          for (let i = 0; i < wave.steps.length; i += 200) await trx.insertInto('release_steps').values(wave.steps.slice(i, i + 200)).execute();
        }
      }
    });
  }

  /** Releases, newest first, one more than `limit` (so the caller knows whether a next page exists). */
  async list(q: { state?: FlightState; limit: number; before?: number }): Promise<Release[]> {
    let query = this.db.selectFrom('releases').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1);
    if (q.state) query = query.where('state', '=', q.state);
    if (q.before !== undefined) query = query.where('created_at', '<', q.before);
    return (await query.execute()).map(toRelease);
  }

  async countByState(): Promise<Array<{ state: string; n: number }>> {
    const rows = await this.db.selectFrom('releases').select(['state']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('state').execute();
    return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
  }

  /** A release's journey events, in order. */
  async events(id: string) {
    return this.db.selectFrom('events').select(['id', 'kind', 'status', 'ring', 'cluster', 'instance', 'commit_sha', 'author', 'occurred_at', 'data'])
      .where('release_id', '=', id).orderBy('occurred_at').orderBy('id').limit(10_000).execute();
  }

  /** Finished releases older than `before` (at most 1000 at a time). */
  async finishedBefore(before: number): Promise<Array<{ id: string; state: string; finished_at: number | null }>> {
    return this.db.selectFrom('releases').select(['id', 'state', 'finished_at']).where('finished_at', '<', before).limit(1000).execute();
  }

  /** Whether the manifest repo still holds something of a release (then it is kept: rollback and history need it). */
  async isDelivered(id: string): Promise<boolean> {
    return !!(await this.db.selectFrom('delivered').select('instance').where('release_id', '=', id).limit(1).executeTakeFirst());
  }

  async deleteRelease(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const t of ['release_steps', 'release_waves', 'release_rings', 'release_approvals', 'release_measurements', 'release_overrides', 'release_alerts', 'notification_deliveries'] as const) await trx.deleteFrom(t).where('release_id', '=', id).execute();
      await trx.deleteFrom('releases').where('id', '=', id).execute();
    });
  }
}
