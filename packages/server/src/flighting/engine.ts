import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { eventInputSchema, type EventInput } from '../ingest/event-schema.ts';
import { writeAudit } from '../auth/audit.ts';
import type { FlightingContext } from './context.ts';
import type { Storage } from '../storage/storage.ts';
import { EngineLease, type LeaseState } from './engine-lease.ts';
import { decide, type ReleaseAction } from './decide.ts';
import { FlightStore } from './store.ts';
import { takeMeasurements } from './measure.ts';
import { AlertStore } from './alert-store.ts';
import { dequeueRelease } from './releases.ts';
import { supersededReason } from './concurrency.ts';
import { StepRunner, type EngineStats } from './step-runner.ts';
import type { ReleaseSnapshot, Step } from './steps.ts';

export type { EngineStats } from './step-runner.ts';

const DAY = 86_400_000;

/**
 * The rollout loop: level-based and persisted. Each tick reads every active release from the
 * database, decides its next actions (decide.ts, pure), writes the next state before acting, and
 * acts idempotently, so a restart at any point resumes where the database says. It sleeps until the
 * next timer (soak, deadline, poll of in-flight steps) or until wake() is called; nothing in flight
 * and no timer means no tick.
 */
export class FlightEngine {
  readonly stats: EngineStats = { steps: 0, actions: 0, actionMs: 0, ioMs: 0, tickMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private lastRetention = 0;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly lease: EngineLease;
  /** Called after the engine changed what is delivered (a manifest commit recorded, a cluster step finished). */
  private readonly deliveryListeners: Array<() => void> = [];
  /** Called with the journey events the engine recorded (the notifier listens). */
  private readonly eventListeners: Array<(events: EventInput[]) => void> = [];
  private lastLease: LeaseState | undefined;
  /** The shared context, except that the engine's database is the lease's: on PostgreSQL, fenced by it. */
  private readonly ctx: FlightingContext;
  private readonly leaseMs: number;
  private readonly store: FlightStore;
  private readonly steps: StepRunner;

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
    this.store = new FlightStore(fenced);
    this.steps = new StepRunner({
      ctx: this.ctx, store: this.store, stats: this.stats, pollMs: this.poll,
      delivered: () => this.delivered(), emit: (events) => this.emit(events), scale: (ms) => this.scale(ms),
    });
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

  /** Calls `fn` with the journey events the engine recorded (release, ring and cluster events). */
  onEvents(fn: (events: EventInput[]) => void): void {
    this.eventListeners.push(fn);
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
    let next: number | undefined;
    for (const id of await this.store.activeIds()) {
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

  /**
   * One level-based pass over a release: decide, act, and — when the steps in flight moved first —
   * decide once more on what they left. Returns the delay it wants before the next pass.
   */
  async advance(id: string): Promise<number | undefined> {
    for (let progressed = false; ;) {
      const snap = await this.store.snapshot(id);
      if (!snap) return undefined;
      const decision = decide(snap, this.ctx.now(), { pollMs: this.poll, timeScale: this.ctx.options.timeScale ?? 1, progressed });
      let checkFailed = false;
      for (const action of decision.actions) checkFailed = (await this.act(snap, action)) || checkFailed;
      if (decision.again && !progressed) {
        progressed = true;
        continue;
      }
      return checkFailed ? 0 : decision.next;
    }
  }

  /** Does one action of a decision; true when a re-check found a cluster Degraded. */
  private async act(snap: ReleaseSnapshot, a: ReleaseAction): Promise<boolean> {
    const rel = snap.release;
    const id = rel.id;
    const now = this.ctx.now();
    const stepsOf = (kind: Step['step'], clusters: string[]) => (kind === 'deliver' ? snap.deliver : snap.rollback).filter((s) => clusters.includes(s.cluster));
    switch (a.kind) {
      case 'emit': await this.emit(a.events); break;
      case 'set-release': await this.store.setRelease(id, now, { state: a.state }); break;
      case 'skip-ring': await this.store.setRing(id, a.ring, { state: 'succeeded', startedAt: now, finishedAt: now }); break;
      case 'wait-for-approval': await this.store.setRing(id, a.ring, { state: 'waiting_for_approval' }); break;
      case 'start-ring': await this.store.setRing(id, a.ring, { state: 'in_progress', startedAt: now }); break;
      case 'start-wave': await this.store.setWave(id, a.ring, a.wave, { state: 'in_progress', startedAt: now, deadlineAt: a.deadlineAt }); break;
      case 'start-steps':
        await this.store.startSteps(id, a.step, a.clusters, now);
        for (const s of stepsOf(a.step, a.clusters)) Object.assign(s, { state: 'in_progress', phase: { kind: 'write' }, startedAt: now });
        break;
      case 'deliver': await this.steps.run(rel, stepsOf(a.step, a.clusters)); break;
      case 'fail-step': for (const s of stepsOf(a.step, [a.cluster])) await this.steps.failStep(rel, s, a.reason); break;
      case 'soak': await this.store.setWave(id, a.ring, a.wave, { state: 'soaking', soakUntil: a.until }); break;
      case 'check': return this.steps.check(rel, stepsOf('deliver', a.clusters));
      case 'measure': await takeMeasurements(this.ctx, rel, a); break;
      case 'finish-wave': await this.store.setWave(id, a.ring, a.wave, { state: 'succeeded', finishedAt: now }); break;
      case 'finish-ring': await this.store.setRing(id, a.ring, { state: 'succeeded', finishedAt: now }); break;
      case 'finish': await this.store.setRelease(id, now, { state: 'succeeded', finished: true }); break;
      case 'halt':
        await this.store.halt(id, a.ring, a.reason, !a.autoRollback, now);
        this.ctx.log.warn({ release: id, ring: a.ring, reason: a.reason }, 'release halted');
        this.delivered();
        break;
      case 'roll-back': await this.store.startRollback(id, a.reason, now); break;
      case 'finish-rollback':
        await this.store.finishRollback(id, a.failure, now);
        this.delivered();
        break;
      case 'pause': await this.store.setRelease(id, now, { paused: true, reason: a.reason, state: rel.state === 'waiting_for_approval' ? rel.state : 'paused' }); break;
      case 'ack-alerts': await new AlertStore(this.ctx.storage).acted(id, a.alerts, now); break;
      case 'dequeue': await dequeueRelease(this.ctx, rel); break;
      case 'supersede':
        await this.store.abort(id, supersededReason(a.by), now);
        this.ctx.log.info({ release: id, by: a.by }, 'release superseded');
        break;
    }
    return false;
  }

  private async emit(events: EventInput[]): Promise<void> {
    try {
      await this.ctx.record(events.map((e) => eventInputSchema.parse(Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)))));
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'recording journey events failed');
    }
    for (const fn of this.eventListeners) {
      try {
        fn(events);
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message }, 'an event listener failed');
      }
    }
  }

  /** Deletes finished releases older than retentionDays (when set), each with an audit record. */
  private async expire(): Promise<void> {
    const days = this.ctx.options.retentionDays;
    const now = this.ctx.now();
    if (!days || now - this.lastRetention < 3_600_000) return;
    this.lastRetention = now;
    for (const r of await this.store.finishedBefore(now - days * DAY)) {
      // never delete what the manifest repo still holds: rollback and history depend on it
      if (await this.store.isDelivered(r.id)) continue;
      await this.store.deleteRelease(r.id);
      await writeAudit(this.ctx.storage, { actor: 'ringmaster', action: 'release.expire', target: `release/${r.id}`, result: 'ok', status: 200, details: { retentionDays: days, state: r.state, finishedAt: r.finished_at } });
    }
  }
}

/**
 * Turns a release into its rollback: one rollback step per cluster the release wrote to, which
 * re-delivers what each instance held before (the previous release's render, or nothing).
 */
export async function startRollback(ctx: FlightingContext, id: string, reason: string): Promise<void> {
  await new FlightStore(ctx.storage).startRollback(id, reason, ctx.now());
}
