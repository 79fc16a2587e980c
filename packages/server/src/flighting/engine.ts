import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeUnreachableError, type KubeClient } from '@ringmaster/kube';
import type { RenderedInstance } from '@ringmaster/fleet';
import { eventInputSchema, type EventInput } from '../ingest/event-schema.ts';
import { writeAudit } from '../auth/audit.ts';
import { applicationFor, applicationName, applicationVerdict, applyApplications, ARGO_API_VERSION, refreshApplications, waitsForRevision } from '../delivery/argocd.ts';
import { driftPolicy } from '../drift/policy.ts';
import { applyStage, finishInstance, replaceStuckStatefulSetPods, stageHealth, stagesOf } from '../delivery/direct.ts';
import { withReleaseAnnotation } from '../delivery/release-annotation.ts';
import type { FlightingContext } from './context.ts';
import type { Storage } from '../storage/storage.ts';
import { EngineLease, type LeaseState } from './engine-lease.ts';
import { isTerminal, TERMINAL_STATES, type ResolvedPolicy, type StepInstance } from './model.ts';
import { toRelease, toStep, type Release, type Step } from './steps.ts';

const DAY = 86_400_000;

/** Raised by a cluster action: the cluster failed (unreachable, Degraded, refused the objects). */
class ClusterFailure extends Error {}

/** An action ran past actionTimeoutMs; it has been cancelled (its Git and Kubernetes calls aborted). */
class ActionTimeout extends ClusterFailure {}

/** How long a cancelled action may take to stop (its git processes to exit) before the engine decides anyway. */
const CANCEL_GRACE_MS = 5000;
/** Longest wait between two attempts of a step whose cluster is unreachable (the first waits one poll interval). */
const MAX_BACKOFF_MS = 30_000;

/** Numbers the benchmark reads: time spent inside delivery actions vs. the whole engine. */
export interface EngineStats {
  /** Cluster steps finished (succeeded or failed). */
  steps: number;
  actions: number;
  /** Time inside cluster actions (sum over concurrent actions). */
  actionMs: number;
  /** Time waiting for Git and Kubernetes inside those actions (sum). */
  ioMs: number;
  /** Wall time inside tick(). */
  tickMs: number;
}

/** How long an Argo CD step waits on an older commit before it asks Argo CD to refresh again. */
const REFRESH_AGAIN_MS = 20_000;

/**
 * How long a just-delivered step must stay Degraded before it fails. Right after a rollback to an
 * earlier ReplicaSet the Deployment controller still reports the bad rollout's
 * ProgressDeadlineExceeded (and Argo CD, Degraded) until the old Pods are back; a real failure stays.
 */
const DEGRADED_CONFIRM_MS = 10_000;

/**
 * The rollout loop: level-based and persisted. Each tick reads every active release from the
 * database, writes the next state before acting, and acts idempotently, so a restart at any
 * point resumes where the database says. It sleeps until the next timer (soak, deadline, poll
 * of in-flight steps) or until wake() is called; nothing in flight and no timer means no tick.
 */
export class FlightEngine {
  readonly stats: EngineStats = { steps: 0, actions: 0, actionMs: 0, ioMs: 0, tickMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private lastRetention = 0;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** Steps waiting for an unreachable cluster: attempts so far and when to try again (release\0step\0cluster). */
  private readonly backoff = new Map<string, { attempts: number; notBefore: number }>();
  /** When each Argo CD step last asked Argo CD to refresh its Applications (in memory: a restarted engine asks again). */
  private readonly refreshedAt = new Map<string, number>();
  /** When each in-flight step was first seen Degraded (in memory: a restarted engine confirms again). */
  private readonly degradedSince = new Map<string, number>();

  private readonly lease: EngineLease;
  /** Called after the engine changed what is delivered (a manifest commit recorded, a cluster step finished). */
  private readonly deliveryListeners: Array<() => void> = [];
  private lastLease: LeaseState | undefined;
  /** The shared context, except that the engine's database is the lease's: on PostgreSQL, fenced by it. */
  private readonly ctx: FlightingContext;
  private readonly leaseMs: number;

  constructor(ctx: FlightingContext) {
    this.leaseMs = ctx.options.leaseMs ?? 15_000;
    this.lease = new EngineLease(ctx.storage, this.leaseMs, this.owner, ctx.log);
    const lease = this.lease;
    const storage = ctx.storage;
    const fenced: Storage = {
      get db() {
        return lease.db;
      },
      dialect: storage.dialect, location: storage.location, close: () => storage.close(),
    };
    this.ctx = { ...ctx, storage: fenced };
  }

  /** Awaits Git or Kubernetes work, counting its time apart from the engine's own. */
  private async io<T>(p: Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await p;
    } finally {
      this.stats.ioMs += performance.now() - t;
    }
  }

  private get poll(): number {
    return this.ctx.options.pollIntervalMs ?? 2000;
  }

  private scale(ms: number): number {
    return Math.round(ms * (this.ctx.options.timeScale ?? 1));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.lease.release().catch(() => undefined);
  }

  /**
   * Whether this engine acts: SQLite always (one process per data folder); on PostgreSQL while it
   * holds the lease. What else acts for the fleet (the drift detector) follows it.
   */
  get acting(): boolean {
    return !this.stopped && this.lease.holding;
  }

  /** The database the engine acts through: on PostgreSQL fenced by the lease (fails once it is lost). */
  get db(): Storage['db'] {
    return this.ctx.storage.db;
  }

  /** Calls `fn` each time the engine changed what is delivered, or took the lease over (so the drift detector looks at once). */
  onDelivery(fn: () => void): void {
    this.deliveryListeners.push(fn);
  }

  private delivered(): void {
    for (const fn of this.deliveryListeners) {
      try {
        fn();
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message }, 'a delivery listener failed');
      }
    }
  }

  /** Runs a tick soon (after a user action or a new release). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => {
        this.running = undefined;
      });
    }, Math.max(0, ms));
  }

  private async loop(): Promise<void> {
    let next: number | undefined;
    try {
      next = await this.tick();
    } catch (err) {
      this.ctx.log.error({ err: (err as Error).message }, 'flighting tick failed');
      next = this.poll;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      next = 0;
    }
    if (next !== undefined) this.schedule(next);
  }

  /** Advances every active release once; returns ms until the next tick is needed (undefined: idle). */
  async tick(): Promise<number | undefined> {
    const started = performance.now();
    // on a shared PostgreSQL several control planes may run: one engine at a time holds the lease, the others look again later
    const lease = await this.holdLease();
    // taking the lease over: what follows the engine (the drift detector) starts acting at once
    if (lease === 'held' && this.lastLease !== 'held') this.delivered();
    this.lastLease = lease;
    if (lease === 'taken') return this.leaseMs / 3;
    const db = this.ctx.storage.db;
    const active = await db.selectFrom('releases').select('id')
      .where('state', 'not in', [...TERMINAL_STATES])
      .orderBy('created_at').execute();
    let next: number | undefined;
    for (const { id } of active) {
      try {
        const due = await this.advance(id);
        if (due !== undefined) next = next === undefined ? due : Math.min(next, due);
      } catch (err) {
        this.ctx.log.error({ err: (err as Error).message, release: id }, 'advancing a release failed; retrying');
        next = next === undefined ? this.poll : Math.min(next, this.poll);
      }
    }
    await this.expire();
    this.stats.tickMs += performance.now() - started;
    // the lease holder also looks now and then for releases created through another replica
    return lease === 'held' ? Math.min(next ?? this.leaseMs / 3, this.leaseMs / 3) : next;
  }

  /** Whether this engine may act: 'sole' (SQLite: one process per data folder), 'held' or 'taken' (PostgreSQL lease). */
  async holdLease(): Promise<LeaseState> {
    return this.lease.hold();
  }

  private async release(id: string): Promise<Release> {
    return toRelease(await this.ctx.storage.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  }

  private async setRelease(id: string, set: { state?: string; reason?: string | null; phase?: string; finished?: boolean }): Promise<void> {
    const now = this.ctx.now();
    await this.ctx.storage.db.updateTable('releases').set({
      ...(set.state ? { state: set.state } : {}), ...(set.reason !== undefined ? { reason: set.reason } : {}),
      ...(set.phase ? { phase: set.phase } : {}), ...(set.finished ? { finished_at: now } : {}), updated_at: now,
    }).where('id', '=', id).execute();
  }

  /** One level-based pass over a release; returns the delay it wants before the next pass. */
  async advance(id: string): Promise<number | undefined> {
    const rel = await this.release(id);
    if (isTerminal(rel.state)) return undefined;
    if (rel.phase === 'rollback') return this.advanceRollback(rel);
    const db = this.ctx.storage.db;
    const now = this.ctx.now();
    const rings = await db.selectFrom('release_rings').selectAll().where('release_id', '=', id).orderBy('position').execute();
    const waves = await db.selectFrom('release_waves').selectAll().where('release_id', '=', id).orderBy('wave').execute();
    let steps = (await db.selectFrom('release_steps').selectAll().where('release_id', '=', id).where('step', '=', 'deliver').orderBy('position').execute()).map(toStep);

    // observe and move every step in flight, whatever ring it is in
    const inflight = steps.filter((s) => s.state === 'in_progress');
    if (inflight.length) {
      await this.runSteps(rel, inflight);
      steps = (await db.selectFrom('release_steps').selectAll().where('release_id', '=', id).where('step', '=', 'deliver').orderBy('position').execute()).map(toStep);
    }
    if (rel.state === 'pending') {
      await this.emit([{ kind: 'release', release: id, commit: rel.revision, status: 'started', idempotencyKey: `release:${id}:started` }]);
      await this.setRelease(id, { state: 'in_progress' });
    }

    for (const ring of rings) {
      if (ring.state === 'succeeded') continue;
      if (isTerminal(ring.state)) return undefined;
      const policy = JSON.parse(ring.policy) as ResolvedPolicy;
      const ringSteps = steps.filter((s) => s.ring === ring.ring);
      if (ring.state === 'pending' || ring.state === 'waiting_for_approval') {
        if (ringSteps.length === 0) {
          await db.updateTable('release_rings').set({ state: 'succeeded', started_at: now, finished_at: now }).where('release_id', '=', id).where('ring', '=', ring.ring).execute();
          continue;
        }
        if (policy.approval === 'manual' && !ring.approved_by) {
          if (ring.state === 'pending') {
            await this.emit([{ kind: 'promotion.step', release: id, ring: ring.ring, status: 'waiting', idempotencyKey: `release:${id}:ring:${ring.ring}:waiting`, data: { gate: 'approval' } }]);
            await db.updateTable('release_rings').set({ state: 'waiting_for_approval' }).where('release_id', '=', id).where('ring', '=', ring.ring).execute();
          }
          if (rel.state !== 'waiting_for_approval') await this.setRelease(id, { state: 'waiting_for_approval' });
          return undefined;
        }
        if (rel.paused) return this.pausedState(rel, undefined);
        await this.emit([{ kind: 'promotion.step', release: id, ring: ring.ring, status: 'started', idempotencyKey: `release:${id}:ring:${ring.ring}:started` }]);
        await db.updateTable('release_rings').set({ state: 'in_progress', started_at: now }).where('release_id', '=', id).where('ring', '=', ring.ring).execute();
      }
      if (rel.state !== 'in_progress' && !rel.paused) await this.setRelease(id, { state: 'in_progress' });

      const failed = ringSteps.filter((s) => s.state === 'failed');
      if (failed.length > policy.maxFailures) {
        return this.halt(rel, ring.ring, policy, `${failed.length} cluster(s) failed in ring ${ring.ring} (maxFailures ${policy.maxFailures}): ${failed.map((s) => `${s.cluster}: ${s.reason ?? 'failed'}`).join('; ')}`);
      }

      for (const wave of waves.filter((w) => w.ring === ring.ring)) {
        if (wave.state === 'succeeded' || wave.state === 'failed') continue;
        const waveSteps = ringSteps.filter((s) => s.wave === wave.wave);
        const where = (q: any) => q.where('release_id', '=', id).where('ring', '=', ring.ring).where('wave', '=', wave.wave);
        if (wave.state === 'pending') {
          if (rel.paused) return this.pausedState(rel, undefined);
          wave.deadline_at = now + this.scale(policy.progressDeadlineMs);
          wave.state = 'in_progress';
          await where(db.updateTable('release_waves').set({ state: 'in_progress', started_at: now, deadline_at: wave.deadline_at })).execute();
        }
        if (wave.state === 'in_progress') {
          if (wave.deadline_at !== null && now >= wave.deadline_at) {
            const late = waveSteps.filter((s) => !isTerminal(s.state));
            // the deadline that really applied: under a time scale it differs from the policy's
            const within = this.scale(policy.progressDeadlineMs);
            const scaled = within === policy.progressDeadlineMs ? '' : ` (progressDeadline ${policy.progressDeadlineMs / 1000}s at time scale ${this.ctx.options.timeScale})`;
            for (const s of late) await this.failStep(rel, s, `progress deadline exceeded: not healthy within ${within / 1000}s${scaled}${s.reason ? ` (last: ${s.reason})` : ''}`);
            if (late.length) return 0;
          }
          const active = ringSteps.filter((s) => s.state === 'in_progress').length;
          const pending = waveSteps.filter((s) => s.state === 'pending');
          if (pending.length && !rel.paused) {
            const room = policy.maxInFlight === null ? pending.length : Math.max(0, policy.maxInFlight - active);
            const starting = pending.slice(0, room);
            if (starting.length) {
              for (const s of starting) {
                s.state = 'in_progress';
                s.phase = 'write';
                s.startedAt = now;
              }
              await db.updateTable('release_steps').set({ state: 'in_progress', phase: 'write', started_at: now, updated_at: now })
                .where('release_id', '=', id).where('step', '=', 'deliver').where('cluster', 'in', starting.map((s) => s.cluster)).execute();
              await this.runSteps(rel, starting);
              return 0;
            }
          }
          if (waveSteps.every((s) => isTerminal(s.state))) {
            const soakUntil = now + this.scale(policy.soakMs);
            wave.state = 'soaking';
            wave.soak_until = soakUntil;
            await where(db.updateTable('release_waves').set({ state: 'soaking', soak_until: soakUntil })).execute();
          } else {
            if (rel.paused) return this.pausedState(rel, this.poll);
            return Math.min(this.poll, Math.max(0, (wave.deadline_at ?? Infinity) - now));
          }
        }
        if (wave.state === 'soaking') {
          if (now < (wave.soak_until ?? 0)) {
            // the gate is "the wave stays healthy": a cluster that turns Degraded while soaking fails
            if (await this.recheck(rel, waveSteps.filter((st) => st.state === 'succeeded'))) return 0;
            return Math.min(wave.soak_until! - now, this.poll);
          }
          await where(db.updateTable('release_waves').set({ state: 'succeeded', finished_at: now })).execute();
          wave.state = 'succeeded';
        }
      }
      await this.emit([{ kind: 'promotion.step', release: id, ring: ring.ring, status: 'succeeded', idempotencyKey: `release:${id}:ring:${ring.ring}:succeeded` }]);
      await db.updateTable('release_rings').set({ state: 'succeeded', finished_at: now }).where('release_id', '=', id).where('ring', '=', ring.ring).execute();
    }
    await this.emit([{ kind: 'release', release: id, commit: rel.revision, status: 'succeeded', idempotencyKey: `release:${id}:succeeded` }]);
    await this.setRelease(id, { state: 'succeeded', finished: true });
    return undefined;
  }

  private async pausedState(rel: Release, next: number | undefined): Promise<number | undefined> {
    if (rel.state !== 'paused') await this.setRelease(rel.id, { state: 'paused' });
    return next;
  }

  /** Stops the rollout: the ring and release halt; with autoRollback the rollback starts at once. */
  private async halt(rel: Release, ring: string, policy: ResolvedPolicy, reason: string): Promise<number | undefined> {
    const db = this.ctx.storage.db;
    const now = this.ctx.now();
    await this.emit([{ kind: 'promotion.step', release: rel.id, ring, status: 'failed', idempotencyKey: `release:${rel.id}:ring:${ring}:halted`, data: { reason } }]);
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('release_waves').set({ state: 'failed', finished_at: now }).where('release_id', '=', rel.id).where('ring', '=', ring).where('state', 'in', ['in_progress', 'soaking']).execute();
      await trx.updateTable('release_rings').set({ state: 'halted', finished_at: now }).where('release_id', '=', rel.id).where('ring', '=', ring).execute();
      await trx.updateTable('release_steps').set({ state: 'halted', updated_at: now }).where('release_id', '=', rel.id).where('step', '=', 'deliver').where('state', '=', 'in_progress').execute();
      await trx.updateTable('releases').set({ state: 'halted', reason, updated_at: now, finished_at: policy.autoRollback ? null : now }).where('id', '=', rel.id).execute();
    });
    this.ctx.log.warn({ release: rel.id, ring, reason }, 'release halted');
    this.delivered();
    if (policy.autoRollback) {
      await startRollback(this.ctx, rel.id, 'automatic rollback: ' + reason);
      return 0;
    }
    return undefined;
  }

  private async advanceRollback(rel: Release): Promise<number | undefined> {
    const db = this.ctx.storage.db;
    const now = this.ctx.now();
    let steps = (await db.selectFrom('release_steps').selectAll().where('release_id', '=', rel.id).where('step', '=', 'rollback').orderBy('position').execute()).map(toStep);
    const pending = steps.filter((s) => s.state === 'pending');
    if (pending.length) {
      await db.updateTable('release_steps').set({ state: 'in_progress', phase: 'write', started_at: now, updated_at: now })
        .where('release_id', '=', rel.id).where('step', '=', 'rollback').where('state', '=', 'pending').execute();
      for (const s of pending) Object.assign(s, { state: 'in_progress', phase: 'write', startedAt: now });
    }
    const late = steps.filter((s) => s.state === 'in_progress' && s.deadlineAt !== null && now >= s.deadlineAt);
    for (const s of late) await this.failStep(rel, s, `rollback not healthy before its deadline${s.reason ? ` (last: ${s.reason})` : ''}`);
    const inflight = steps.filter((s) => s.state === 'in_progress' && !late.includes(s));
    if (inflight.length) {
      await this.runSteps(rel, inflight);
      steps = (await db.selectFrom('release_steps').selectAll().where('release_id', '=', rel.id).where('step', '=', 'rollback').orderBy('position').execute()).map(toStep);
    }
    if (!steps.every((s) => isTerminal(s.state))) return this.poll;
    const failed = steps.filter((s) => s.state === 'failed');
    await this.emit([{ kind: 'release', release: rel.id, commit: rel.revision, status: failed.length ? 'failed' : 'rolled_back', idempotencyKey: `release:${rel.id}:${failed.length ? 'rollback-failed' : 'rolled_back'}` }]);
    await db.transaction().execute(async (trx) => {
      if (failed.length === 0) {
        await trx.updateTable('release_steps').set({ state: 'rolled_back', updated_at: now }).where('release_id', '=', rel.id).where('step', '=', 'deliver').where('manifest_commit', 'is not', null).execute();
        await trx.updateTable('release_rings').set({ state: 'rolled_back', finished_at: now }).where('release_id', '=', rel.id).where('state', 'in', ['halted', 'succeeded', 'in_progress', 'aborted', 'paused']).where('started_at', 'is not', null).execute();
      }
      await trx.updateTable('release_steps').set({ state: 'aborted', updated_at: now }).where('release_id', '=', rel.id).where('step', '=', 'deliver').where('state', 'in', ['pending', 'in_progress', 'halted']).execute();
      await trx.updateTable('releases').set({
        state: failed.length ? 'failed' : 'rolled_back', updated_at: now, finished_at: now,
        ...(failed.length ? { reason: `rollback failed on ${failed.map((s) => `${s.cluster}: ${s.reason}`).join('; ')}` } : {}),
      }).where('id', '=', rel.id).execute();
    });
    this.delivered();
    return undefined;
  }

  /** Runs one action of each step at once; a slow or unreachable cluster holds up no other step beyond actionTimeoutMs. */
  private async runSteps(rel: Release, steps: Step[]): Promise<void> {
    await Promise.all(steps.map((s) => this.runStep(rel, s)));
  }

  private async runStep(rel: Release, step: Step): Promise<void> {
    const key = `${rel.id}\0${step.step}\0${step.cluster}`;
    const backoff = this.backoff.get(key);
    if (backoff && this.ctx.now() < backoff.notBefore) return;
    // a step moves through several quick phases in one go; it stops when it has to wait for the cluster
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const phase = step.phase;
      let outcome: 'next' | 'wait';
      try {
        outcome = await withTimeout((signal) => this.act(rel, step, signal), this.ctx.options.actionTimeoutMs ?? 20_000, step);
      } catch (err) {
        this.stats.actionMs += performance.now() - started;
        if (err instanceof ActionTimeout && phase === 'write') return this.settleTimedOutWrite(rel, step, err);
        if (isTransient(err)) return this.retryLater(rel, step, key, err as Error);
        if (err instanceof ClusterFailure || err instanceof KubeUnreachableError || isKubeError(err)) {
          await this.failStep(rel, step, (err as Error).message);
          return;
        }
        // our own side (Git, database): keep the phase and retry on the next tick
        this.ctx.log.warn({ release: rel.id, cluster: step.cluster, phase: step.phase, err: (err as Error).message }, 'cluster step action failed; retrying');
        await this.ctx.storage.db.updateTable('release_steps').set({ reason: `retrying: ${(err as Error).message}`.slice(0, 2000), updated_at: this.ctx.now() })
          .where('release_id', '=', rel.id).where('step', '=', step.step).where('cluster', '=', step.cluster).execute();
        return;
      }
      this.backoff.delete(key);
      this.stats.actionMs += performance.now() - started;
      this.stats.actions++;
      if (outcome === 'wait' || step.state !== 'in_progress') return;
    }
  }

  /**
   * The cluster did not answer (unreachable, overloaded, timed out): it may come back, so the step
   * stays in flight and is tried again with a growing pause; its progress deadline ends the waiting.
   */
  private async retryLater(rel: Release, step: Step, key: string, err: Error): Promise<void> {
    const attempts = (this.backoff.get(key)?.attempts ?? 0) + 1;
    const wait = Math.min(MAX_BACKOFF_MS, this.poll * 2 ** (attempts - 1));
    this.backoff.set(key, { attempts, notBefore: this.ctx.now() + wait });
    const why = err instanceof KubeUnreachableError ? `unreachable: ${err.message}` : err.message;
    this.ctx.log.warn({ release: rel.id, cluster: step.cluster, phase: step.phase, attempts, err: why }, 'cluster did not answer; retrying');
    await this.updateStep(step, { reason: `retrying (attempt ${attempts}, next in ${Math.round(wait / 1000)}s): ${why}` });
  }

  /**
   * A manifest write ran past its time and was cancelled. Whether its commit landed before the push
   * was killed only the manifest repo knows (its trailers): ask it, record what it holds — so a
   * rollback covers this cluster when it changed — and fail the step.
   */
  private async settleTimedOutWrite(rel: Release, step: Step, err: ActionTimeout): Promise<void> {
    let landed: { commit: string; message: string } | undefined;
    try {
      landed = await this.io(this.ctx.repo.landed(rel.id, step.step, step.cluster));
    } catch (lookup) {
      // not knowing is not failing: the write phase runs again next tick and finds (or makes) the commit
      this.ctx.log.warn({ release: rel.id, cluster: step.cluster, err: (lookup as Error).message }, 'cannot tell whether a cancelled manifest write landed; retrying');
      await this.updateStep(step, { reason: `retrying: ${err.message}; whether the write landed is not known yet` });
      return;
    }
    if (landed) {
      await this.recordWrite(rel, step, { ...landed, created: true });
      await this.failStep(rel, step, `${err.message}; its commit ${landed.commit.slice(0, 12)} landed in the manifest repo`);
    } else {
      await this.failStep(rel, step, `${err.message}; nothing was written to the manifest repo`);
    }
  }

  private async updateStep(step: Step, set: { phase?: string; state?: string; reason?: string | null; manifestCommit?: string; deadlineAt?: number; finished?: boolean }): Promise<void> {
    const now = this.ctx.now();
    if (set.phase) step.phase = set.phase;
    if (set.state) step.state = set.state;
    if (set.reason !== undefined) step.reason = set.reason;
    if (set.manifestCommit) step.manifestCommit = set.manifestCommit;
    await this.ctx.storage.db.updateTable('release_steps').set({
      ...(set.phase ? { phase: set.phase } : {}), ...(set.state ? { state: set.state } : {}), ...(set.reason !== undefined ? { reason: set.reason?.slice(0, 2000) ?? null } : {}),
      ...(set.manifestCommit ? { manifest_commit: set.manifestCommit } : {}), ...(set.deadlineAt ? { deadline_at: set.deadlineAt } : {}),
      ...(set.finished ? { finished_at: now } : {}), updated_at: now,
    }).where('release_id', '=', step.releaseId).where('step', '=', step.step).where('cluster', '=', step.cluster).execute();
  }

  private async failStep(rel: Release, step: Step, reason: string): Promise<void> {
    // events first: they are idempotent, so a crash between the two repeats them harmlessly instead of losing them
    this.ctx.log.warn({ release: rel.id, cluster: step.cluster, step: step.step, reason }, 'cluster step failed');
    await this.emit([
      { kind: 'promotion.step', release: rel.id, ring: step.ring, cluster: step.cluster, status: 'failed', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:failed`, data: { step: step.step, reason } },
      ...step.instances.filter((i) => i.action !== 'delete').map((i): EventInput => ({ kind: 'health', cluster: step.cluster, instance: i.instance, app: i.app, ring: step.ring, release: rel.id, status: 'Degraded', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:${i.instance}:degraded`, ...regionData(step) })),
    ]);
    await this.updateStep(step, { state: 'failed', reason, finished: true });
    this.refreshedAt.delete(this.stepKey(step));
    this.degradedSince.delete(this.stepKey(step));
    this.stats.steps++;
    this.delivered();
  }

  private async succeedStep(rel: Release, step: Step): Promise<void> {
    this.refreshedAt.delete(this.stepKey(step));
    this.degradedSince.delete(this.stepKey(step));
    const per = step.instances.filter((i) => this.targetDigest(step, i) !== null);
    await this.emit([
      { kind: 'promotion.step', release: rel.id, ring: step.ring, cluster: step.cluster, commit: step.manifestCommit ?? undefined, status: step.step === 'rollback' ? 'rolled_back' : 'succeeded', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:succeeded`, data: { step: step.step } },
      ...per.flatMap((i): EventInput[] => {
        // after a rollback the instance runs the release it held before (not this one)
        const runs = step.step === 'rollback' ? i.previousRelease ?? undefined : rel.id;
        return [
          { kind: 'sync', cluster: step.cluster, instance: i.instance, app: i.app, ring: step.ring, release: runs, commit: step.manifestCommit ?? undefined, status: 'Synced', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:${i.instance}:synced`, ...regionData(step) },
          { kind: 'health', cluster: step.cluster, instance: i.instance, app: i.app, ring: step.ring, release: runs, status: 'Healthy', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:${i.instance}:healthy`, ...regionData(step) },
        ];
      }),
    ]);
    await this.updateStep(step, { state: 'succeeded', reason: null, finished: true });
    this.stats.steps++;
    this.delivered();
  }

  /** Looks at finished steps again; fails those whose cluster now reports Degraded. True when one failed. */
  private async recheck(rel: Release, steps: Step[]): Promise<boolean> {
    const verdicts = await Promise.all(steps.map(async (step) => {
      try {
        return { step, degraded: await withTimeout((signal) => this.degradedNow(rel, step, signal), this.ctx.options.actionTimeoutMs ?? 20_000, step) };
      } catch (err) {
        // an unanswered health read during soak proves nothing either way; the next look decides
        this.ctx.log.warn({ release: rel.id, cluster: step.cluster, err: (err as Error).message }, 'health re-check during soak failed');
        return { step, degraded: undefined };
      }
    }));
    let failed = false;
    for (const v of verdicts) {
      if (!v.degraded) continue;
      await this.failStep(rel, v.step, `turned Degraded while soaking: ${v.degraded}`);
      failed = true;
    }
    return failed;
  }

  /** The reason a delivered step's cluster is Degraded now, or undefined. */
  private async degradedNow(rel: Release, step: Step, signal: AbortSignal): Promise<string | undefined> {
    const d = step.delivery;
    const live = step.instances.filter((i) => this.targetDigest(step, i) !== null);
    if (d.mode === 'argocd') {
      const client = this.clientFor(step, signal);
      for (const i of live) {
        const app = await this.io(client.get({ apiVersion: ARGO_API_VERSION, kind: 'Application', namespace: d.namespace, name: applicationName(step.cluster, i.instance) }));
        const v = await applicationVerdict(app, step.manifestCommit!, (rev, commit) => this.io(this.ctx.repo.includes(rev, commit)));
        if (v.status === 'Degraded') return v.reason;
      }
      return undefined;
    }
    const client = this.clientFor(step, signal);
    for (const i of live) {
      const inst = await this.target(rel, step, i);
      if (!inst) continue;
      for (let stage = 0; stage < stagesOf(inst).length; stage++) {
        const h = await this.io(stageHealth(client, inst, stage));
        if (h.status === 'Degraded') return h.reason;
      }
    }
    return undefined;
  }

  private stepKey(step: Step): string {
    return `${step.releaseId}/${step.step}/${step.cluster}`;
  }

  /** A Degraded verdict on an in-flight step: it fails once Degraded for the confirmation window, and waits until then. */
  private async onDegraded(step: Step, reason: string): Promise<'wait'> {
    const key = this.stepKey(step);
    const now = this.ctx.now();
    const since = this.degradedSince.get(key) ?? now;
    this.degradedSince.set(key, since);
    const confirm = this.ctx.options.degradedConfirmMs ?? DEGRADED_CONFIRM_MS;
    if (now - since >= confirm) throw new ClusterFailure(reason);
    const waiting = `${reason} (failing unless it recovers within ${Math.ceil((since + confirm - now) / 1000)}s)`;
    if (waiting !== step.reason) await this.updateStep(step, { reason: waiting });
    return 'wait';
  }

  /** Asks Argo CD to refresh the step's Applications now, so delivery does not wait for its poll. */
  private async refresh(step: Step, client: KubeClient): Promise<void> {
    const d = step.delivery;
    if (d.mode !== 'argocd') return;
    this.refreshedAt.set(this.stepKey(step), this.ctx.now());
    const apps = step.instances.filter((i) => this.targetDigest(step, i) !== null).map((i) => ({ namespace: d.namespace, name: applicationName(step.cluster, i.instance) }));
    try {
      await this.io(refreshApplications(client, apps));
    } catch (err) {
      // a lost refresh only costs time (Argo CD's own poll still comes): never fail the step for it
      this.ctx.log.warn({ cluster: step.cluster, err: (err as Error).message }, 'asking Argo CD to refresh failed');
    }
  }

  /** The client that reaches a step's cluster (direct) or the Argo CD management cluster; a bad kubeconfig fails the cluster. */
  private clientFor(step: Step, signal: AbortSignal): KubeClient {
    try {
      return (step.delivery.mode === 'argocd' ? this.ctx.clients.management() : this.ctx.clients.forCluster(step.cluster, step.delivery.context)).withSignal(signal);
    } catch (err) {
      throw new ClusterFailure(`unreachable: no usable kubeconfig for ${step.delivery.mode === 'argocd' ? 'the Argo CD management cluster' : `cluster ${step.cluster}`}: ${(err as Error).message}`);
    }
  }

  /** The digest a step delivers for an instance (null: the instance is removed). */
  private targetDigest(step: Step, i: StepInstance): string | null {
    if (step.step === 'rollback') return i.previousDigest;
    return i.action === 'delete' ? null : i.digest;
  }

  /** What a step delivers: the rendered instance, or null when the instance is removed. */
  private async target(rel: Release, step: Step, i: StepInstance): Promise<RenderedInstance | null> {
    if (step.step === 'deliver') {
      if (i.action === 'delete') return null;
      const r = await this.ctx.renderer.render(rel.revision, rel.override);
      const inst = r.instances.get(i.instance);
      if (!inst) throw new Error(`instance ${i.instance} is missing from the render of ${rel.revision}`);
      return withReleaseAnnotation(inst, rel.id);
    }
    if (!i.previousRelease) return null;
    const prev = await this.release(i.previousRelease);
    const r = await this.ctx.renderer.render(prev.revision, prev.override);
    const inst = r.instances.get(i.instance);
    return inst ? withReleaseAnnotation(inst, prev.id) : null;
  }

  /**
   * Whether Argo CD undoes live edits of an instance itself: the fleet's drift policy (instance, app,
   * ring) at the release whose manifests the step delivers (a rollback: the release it goes back to).
   */
  private async selfHealOf(rel: Release, step: Step, i: StepInstance): Promise<boolean> {
    const source = step.step === 'rollback' && i.previousRelease ? await this.release(i.previousRelease) : rel;
    return driftPolicy((await this.ctx.renderer.render(source.revision, source.override)).fleet, i.instance).selfHeal;
  }

  /** Does the next piece of work of a step; 'wait' when it has to wait for the cluster. */
  private async act(rel: Release, step: Step, signal: AbortSignal): Promise<'next' | 'wait'> {
    const phase = step.phase;
    if (phase === 'write') return this.write(rel, step, signal);
    const d = step.delivery;
    if (d.mode === 'argocd') {
      const client = this.clientFor(step, signal);
      if (phase === 'apps') {
        const apps = [];
        for (const i of step.instances) {
          const ref = { apiVersion: ARGO_API_VERSION, kind: 'Application', namespace: d.namespace, name: applicationName(step.cluster, i.instance) };
          if (this.targetDigest(step, i) === null) await this.io(client.delete(ref));
          else apps.push(applicationFor({ cluster: step.cluster, instance: i.instance, namespace: i.namespace, argocd: d, repoURL: this.ctx.options.manifestRepo.argocdURL ?? this.ctx.options.manifestRepo.url, branch: this.ctx.repo.branch, selfHeal: await this.selfHealOf(rel, step, i) }));
        }
        if (apps.length) {
          await this.io(applyApplications(client, apps));
          await this.refresh(step, client);
        }
        await this.updateStep(step, { phase: 'observe' });
        return 'next';
      }
      if (phase === 'observe') {
        const verdicts = await Promise.all(step.instances.filter((i) => this.targetDigest(step, i) !== null).map(async (i) => applicationVerdict(
          await this.io(client.get({ apiVersion: ARGO_API_VERSION, kind: 'Application', namespace: d.namespace, name: applicationName(step.cluster, i.instance) })),
          step.manifestCommit!, (rev, commit) => this.io(this.ctx.repo.includes(rev, commit)))));
        const bad = verdicts.find((v) => v.status === 'Degraded');
        if (bad) return this.onDegraded(step, bad.reason);
        this.degradedSince.delete(this.stepKey(step));
        const waiting = verdicts.find((v) => v.status !== 'Healthy');
        // still at an older commit a while after the last refresh (e.g. Argo CD restarted and lost it): ask again
        if (verdicts.some(waitsForRevision) && this.ctx.now() - (this.refreshedAt.get(this.stepKey(step)) ?? 0) >= REFRESH_AGAIN_MS) await this.refresh(step, client);
        if (waiting) {
          if (waiting.reason !== step.reason) await this.updateStep(step, { reason: waiting.reason });
          return 'wait';
        }
        await this.succeedStep(rel, step);
        return 'next';
      }
    } else {
      const client = this.clientFor(step, signal);
      const targets = await Promise.all(step.instances.map(async (i) => ({ i, inst: await this.target(rel, step, i) })));
      const m = /^stage:(\d+):(apply|wait)$/.exec(phase);
      if (m) {
        const stage = Number(m[1]);
        if (m[2] === 'apply') {
          for (const t of targets) if (t.inst) await this.io(applyStage(client, t.inst, stage));
          await this.updateStep(step, { phase: `stage:${stage}:wait` });
          return 'next';
        }
        if (step.step === 'rollback') {
          for (const t of targets.filter((x) => x.inst)) {
            const replaced = await this.io(replaceStuckStatefulSetPods(client, t.inst!, stage));
            if (replaced.length) this.ctx.log.info({ release: rel.id, cluster: step.cluster, pods: replaced }, 'rollback: replaced StatefulSet Pods stuck at the bad revision (OrderedReady would wait for them for ever)');
          }
        }
        const health = await this.io(Promise.all(targets.filter((t) => t.inst).map((t) => stageHealth(client, t.inst!, stage))));
        const bad = health.find((h) => h.status === 'Degraded');
        if (bad) return this.onDegraded(step, bad.reason);
        this.degradedSince.delete(this.stepKey(step));
        const waiting = health.find((h) => h.status !== 'Healthy');
        if (waiting) {
          if (waiting.reason !== step.reason) await this.updateStep(step, { reason: waiting.reason });
          return 'wait';
        }
        const stages = Math.max(0, ...targets.map((t) => (t.inst ? stagesOf(t.inst).length : 0)));
        await this.updateStep(step, { phase: stage + 1 < stages ? `stage:${stage + 1}:apply` : 'prune', reason: null });
        return 'next';
      }
      if (phase === 'prune') {
        for (const t of targets) await this.io(finishInstance(client, t.i.instance, t.i.namespace, t.inst));
        await this.succeedStep(rel, step);
        return 'next';
      }
    }
    throw new Error(`unknown phase "${phase}" of step ${step.step}/${step.cluster}`);
  }

  /** Writes (or finds) the step's manifest commit, then records what the manifest repo holds now. */
  private async write(rel: Release, step: Step, signal: AbortSignal): Promise<'next'> {
    const targets = await Promise.all(step.instances.map(async (i) => ({ i, inst: await this.target(rel, step, i) })));
    const verb = step.step === 'rollback' ? 'Roll back' : 'Deliver';
    const written = await this.io(this.ctx.repo.ensureCommit({
      release: rel.id, step: step.step, sourceRevision: rel.revision, ring: step.ring, cluster: step.cluster,
      title: `${verb} release ${rel.id} to ${step.cluster} (${targets.map((t) => t.i.instance).join(', ')})`.slice(0, 200),
      instances: targets.map((t) => ({ instance: t.i.instance, files: t.inst ? t.inst.objects.map((o) => ({ file: o.file, yaml: o.yaml })) : null })),
    }, { signal }));
    await this.recordWrite(rel, step, written);
    return 'next';
  }

  /** Records a manifest commit of a step: the journey events, what the manifest repo holds per instance, the step's next phase. */
  private async recordWrite(rel: Release, step: Step, written: { commit: string; created: boolean; message: string }): Promise<void> {
    const { commit, created, message } = written;
    const next = step.delivery.mode === 'argocd' ? 'apps' : 'stage:0:apply';
    const policyDeadline = step.step === 'rollback' ? { deadlineAt: this.ctx.now() + this.scale(await this.rollbackDeadline(rel)) } : {};
    await this.emit([
      { kind: 'commit', repository: this.ctx.manifestRepository, commit, message, release: rel.id, ring: step.ring, cluster: step.cluster, idempotencyKey: `manifest:${commit}` },
      { kind: 'promotion.step', release: rel.id, ring: step.ring, cluster: step.cluster, commit, status: 'started', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:started`, data: { step: step.step, created } },
    ]);
    const now = this.ctx.now();
    await this.ctx.storage.db.transaction().execute(async (trx) => {
      for (const i of step.instances) {
        const releaseId = step.step === 'rollback' ? i.previousRelease : rel.id;
        const digest = this.targetDigest(step, i);
        if (digest === null || releaseId === null) {
          await trx.deleteFrom('delivered').where('cluster', '=', step.cluster).where('instance', '=', i.instance).execute();
        } else {
          const row = { cluster: step.cluster, instance: i.instance, app: i.app, namespace: i.namespace, release_id: releaseId, digest, updated_at: now };
          await trx.insertInto('delivered').values(row).onConflict((oc) => oc.columns(['cluster', 'instance']).doUpdateSet({ app: row.app, namespace: row.namespace, release_id: row.release_id, digest: row.digest, updated_at: now })).execute();
        }
      }
      await trx.updateTable('release_steps').set({ manifest_commit: commit, phase: next, updated_at: now, ...(policyDeadline.deadlineAt ? { deadline_at: policyDeadline.deadlineAt } : {}) })
        .where('release_id', '=', rel.id).where('step', '=', step.step).where('cluster', '=', step.cluster).execute();
    });
    step.manifestCommit = commit;
    step.phase = next;
    if (policyDeadline.deadlineAt) step.deadlineAt = policyDeadline.deadlineAt;
    this.delivered();
  }

  private async rollbackDeadline(rel: Release): Promise<number> {
    const rings = await this.ctx.storage.db.selectFrom('release_rings').select('policy').where('release_id', '=', rel.id).execute();
    return Math.max(0, ...rings.map((r) => (JSON.parse(r.policy) as ResolvedPolicy).progressDeadlineMs));
  }

  private async emit(events: EventInput[]): Promise<void> {
    try {
      await this.ctx.record(events.map((e) => eventInputSchema.parse(Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)))));
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'recording journey events failed');
    }
  }

  /** Deletes finished releases older than retentionDays (when set), each with an audit record. */
  private async expire(): Promise<void> {
    const days = this.ctx.options.retentionDays;
    const now = this.ctx.now();
    if (!days || now - this.lastRetention < 3_600_000) return;
    this.lastRetention = now;
    const db = this.ctx.storage.db;
    const old = await db.selectFrom('releases').select(['id', 'state', 'finished_at']).where('finished_at', '<', now - days * DAY).limit(1000).execute();
    for (const r of old) {
      // never delete what the manifest repo still holds: rollback and history depend on it
      const live = await db.selectFrom('delivered').select('instance').where('release_id', '=', r.id).limit(1).executeTakeFirst();
      if (live) continue;
      await db.transaction().execute(async (trx) => {
        for (const t of ['release_steps', 'release_waves', 'release_rings', 'release_approvals'] as const) await trx.deleteFrom(t).where('release_id', '=', r.id).execute();
        await trx.deleteFrom('releases').where('id', '=', r.id).execute();
      });
      await writeAudit(this.ctx.storage, { actor: 'ringmaster', action: 'release.expire', target: `release/${r.id}`, result: 'ok', status: 200, details: { retentionDays: days, state: r.state, finishedAt: r.finished_at } });
    }
  }
}

function isKubeError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return typeof code === 'string' && code.startsWith('RINGMASTER_KUBE');
}

/** Kubernetes answers that say "not now" rather than "no": the step waits for the cluster instead of failing. */
function isTransient(err: unknown): boolean {
  if (err instanceof ActionTimeout || err instanceof KubeUnreachableError) return true;
  const status = (err as { status?: unknown })?.status;
  return isKubeError(err) && typeof status === 'number' && (status === 429 || status === 502 || status === 503 || status === 504);
}

const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Runs an action with a deadline. Past it, the action is cancelled through its signal (git processes
 * killed, Kubernetes requests abandoned) and — so that what it did is known before anyone decides —
 * the timeout is reported only once the action has stopped (or CANCEL_GRACE_MS later).
 */
async function withTimeout<T>(action: (signal: AbortSignal) => Promise<T>, ms: number, step: Step): Promise<T> {
  const controller = new AbortController();
  const running = action(controller.signal);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    const first = await Promise.race([running, expired]);
    if (first !== TIMED_OUT) return first as T;
  } finally {
    clearTimeout(timer);
  }
  const what = step.phase === 'write' ? `the manifest write for cluster ${step.cluster} did not finish` : `cluster ${step.cluster} did not answer`;
  const timeout = new ActionTimeout(`${what} within ${ms / 1000}s (phase ${step.phase}); it was cancelled`);
  controller.abort(timeout);
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([running.catch(() => undefined), new Promise((resolve) => (grace = setTimeout(resolve, CANCEL_GRACE_MS)))]);
  clearTimeout(grace);
  throw timeout;
}

/**
 * Turns a release into its rollback: one rollback step per cluster the release wrote to, which
 * re-delivers what each instance held before (the previous release's render, or nothing).
 */
export async function startRollback(ctx: FlightingContext, id: string, reason: string): Promise<void> {
  const db = ctx.storage.db;
  const now = ctx.now();
  await db.transaction().execute(async (trx) => {
    const touched = await trx.selectFrom('release_steps').selectAll().where('release_id', '=', id).where('step', '=', 'deliver').where('manifest_commit', 'is not', null).orderBy('position').execute();
    for (const s of touched) {
      await trx.insertInto('release_steps').values({ ...s, step: 'rollback', state: 'pending', phase: 'write', manifest_commit: null, reason: null, started_at: null, deadline_at: null, finished_at: null, updated_at: now })
        .onConflict((oc) => oc.columns(['release_id', 'step', 'cluster']).doNothing()).execute();
    }
    await trx.updateTable('release_steps').set({ state: 'aborted', updated_at: now }).where('release_id', '=', id).where('step', '=', 'deliver').where('state', '=', 'pending').execute();
    await trx.updateTable('releases').set({ phase: 'rollback', state: 'in_progress', paused: 0, reason, updated_at: now, finished_at: null }).where('id', '=', id).execute();
  });
}

/** The cluster's region on sync/health events, so the fleet view can group clusters by region. */
function regionData(step: Step): { data?: { region: string } } {
  return step.delivery.region ? { data: { region: step.delivery.region } } : {};
}
