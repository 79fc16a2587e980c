import type { EventInput } from '../ingest/event-schema.ts';
import { isTerminal, type FlightState, type ResolvedPolicy, type StepKind } from './model.ts';
import type { Release, ReleaseSnapshot, Ring, Step, Wave } from './steps.ts';
import { decideMetricGates, type MeasureRequest, type Measurement } from './metric-gate.ts';
import { frozen, holdAt, holdEvent, holdNext, type BoundaryFacts, type Hold } from './holds.ts';
import { decideAlerts, type AlertActed } from './alerts.ts';
import { decideConcurrency, type ConcurrencyAction } from './concurrency.ts';

/**
 * What the engine does next for a release. The decision names the work; the runner does it (the
 * store writes, the delivery adapters act, the journey records) in the order given.
 */
export type ReleaseAction =
  | { kind: 'emit'; events: EventInput[] }
  | { kind: 'set-release'; state: FlightState }
  | { kind: 'skip-ring'; ring: string }
  | { kind: 'wait-for-approval'; ring: string }
  | { kind: 'start-ring'; ring: string }
  | { kind: 'start-wave'; ring: string; wave: number; deadlineAt: number }
  | { kind: 'start-steps'; step: StepKind; clusters: string[] }
  /** Run the steps' next actions (write, apply, observe…) until each has to wait for its cluster. */
  | { kind: 'deliver'; step: StepKind; clusters: string[] }
  | { kind: 'fail-step'; step: StepKind; cluster: string; reason: string }
  | { kind: 'soak'; ring: string; wave: number; until: number }
  /** Look at finished clusters again: one that turned Degraded fails (and the release is looked at again at once). */
  | { kind: 'check'; clusters: string[] }
  /** Take these metric gate measurements (Prometheus queries) and store them. */
  | { kind: 'measure'; ring: string; wave: number; measurements: MeasureRequest[] }
  | { kind: 'finish-wave'; ring: string; wave: number }
  | { kind: 'finish-ring'; ring: string }
  | { kind: 'finish' }
  | { kind: 'halt'; ring: string; reason: string; autoRollback: boolean }
  | { kind: 'roll-back'; reason: string }
  | { kind: 'finish-rollback'; failure: string | null }
  /** Pauses the release (a firing alert, by the ring's alerts policy). */
  | { kind: 'pause'; reason: string }
  /** Marks alerts as looked at (alerts.ts). */
  | { kind: 'ack-alerts'; alerts: AlertActed[] }
  | ConcurrencyAction;

export interface Decision {
  actions: ReleaseAction[];
  /** Milliseconds until the release wants looking at again (undefined: only when woken). */
  next: number | undefined;
  /** Decide again once these actions are done (the steps in flight moved first). */
  again?: boolean;
}

export interface DecideOptions {
  /** How often in-flight steps are looked at. */
  pollMs: number;
  /** The time scale applied to policy durations (soak, progress deadline). */
  timeScale: number;
  /** True on the second decision of a pass: the steps in flight have been moved already. */
  progressed: boolean;
}

const scaled = (ms: number, o: DecideOptions) => Math.round(ms * o.timeScale);

const releaseEvent = (rel: Release, status: string, key = status): EventInput => ({ kind: 'release', release: rel.id, commit: rel.revision, status, idempotencyKey: `release:${rel.id}:${key}` });
const ringEvent = (rel: Release, ring: string, status: string, key: string, data?: Record<string, unknown>): EventInput => ({
  kind: 'promotion.step', release: rel.id, ring, status, idempotencyKey: `release:${rel.id}:ring:${ring}:${key}`, ...(data ? { data } : {}),
});

/**
 * The release state machine: from a snapshot of a release and the time, the actions that move it
 * on and when to look again. Pure: no database, no cluster, no clock of its own.
 */
export function decide(snap: ReleaseSnapshot, now: number, o: DecideOptions): Decision {
  if (isTerminal(snap.release.state)) return { actions: [], next: undefined };
  const alerted = decideAlerts(snap);
  if (alerted.length) return { actions: alerted, next: 0 };
  const held = decideConcurrency(snap, now, o);
  if (held) return held;
  return snap.release.phase === 'rollback' ? decideRollback(snap, now, o) : decideRollout(snap, now, o);
}

/** A decision under construction: the actions so far, and the release's state as they leave it. */
class Plan {
  readonly actions: ReleaseAction[] = [];
  state: FlightState;
  /** The freeze and the overrides (windows and freezes hold at boundaries). */
  holds: BoundaryFacts | undefined;
  constructor(readonly rel: Release, readonly now: number, readonly o: DecideOptions) {
    this.state = rel.state;
  }

  push(...a: ReleaseAction[]): void {
    this.actions.push(...a);
  }

  emit(...events: EventInput[]): void {
    this.actions.push({ kind: 'emit', events });
  }

  setState(state: FlightState): void {
    this.push({ kind: 'set-release', state });
    this.state = state;
  }

  done(next: number | undefined): Decision {
    return { actions: this.actions, next };
  }

  /** A paused release shows it (unless it waits for an approval) and starts nothing. */
  paused(next: number | undefined): Decision {
    if (this.state !== 'paused') this.setState('paused');
    return this.done(next);
  }
}

function decideRollout(snap: ReleaseSnapshot, now: number, o: DecideOptions): Decision {
  const rel = snap.release;
  const inflight = snap.deliver.filter((s) => s.state === 'in_progress');
  // observe and move every step in flight, whatever ring it is in; then decide on what they left
  if (!o.progressed && inflight.length) return { actions: [{ kind: 'deliver', step: 'deliver', clusters: inflight.map((s) => s.cluster) }], next: undefined, again: true };
  const plan = new Plan(rel, now, o);
  plan.holds = snap.holds;
  if (rel.state === 'pending') {
    plan.emit(releaseEvent(rel, 'started'));
    plan.setState('in_progress');
  }
  for (const ring of snap.rings) {
    if (ring.state === 'succeeded') continue;
    if (isTerminal(ring.state)) return plan.done(undefined);
    const steps = snap.deliver.filter((s) => s.ring === ring.ring);
    if (ring.state === 'pending' || ring.state === 'waiting_for_approval') {
      if (steps.length === 0) {
        plan.push({ kind: 'skip-ring', ring: ring.ring });
        continue;
      }
      const gate = openRing(plan, ring);
      if (gate) return gate;
    }
    if (plan.state !== 'in_progress' && !rel.paused) plan.setState('in_progress');
    const failed = steps.filter((s) => s.state === 'failed');
    if (failed.length > ring.policy.maxFailures) {
      return halt(plan, ring.ring, ring.policy, `${failed.length} cluster(s) failed in ring ${ring.ring} (maxFailures ${ring.policy.maxFailures}): ${failed.map((s) => `${s.cluster}: ${s.reason ?? 'failed'}`).join('; ')}`);
    }
    for (const wave of snap.waves.filter((w) => w.ring === ring.ring)) {
      const waits = decideWave(plan, ring, { ...wave }, steps, snap.measurements ?? [], snap.inFlightElsewhere?.[ring.ring] ?? 0);
      if (waits) return waits;
    }
    plan.emit(ringEvent(rel, ring.ring, 'succeeded', 'succeeded'));
    plan.push({ kind: 'finish-ring', ring: ring.ring });
  }
  plan.emit(releaseEvent(rel, 'succeeded'));
  plan.push({ kind: 'finish' });
  return plan.done(undefined);
}

/** The gates before a ring starts: its manual approval, and a pause. Returns the decision when the ring has to wait. */
function openRing(plan: Plan, ring: Ring): Decision | undefined {
  const rel = plan.rel;
  if (ring.policy.approval === 'manual' && !ring.approvedBy) {
    if (ring.state === 'pending') {
      plan.emit(ringEvent(rel, ring.ring, 'waiting', 'waiting', { gate: 'approval' }));
      plan.push({ kind: 'wait-for-approval', ring: ring.ring });
    }
    if (plan.state !== 'waiting_for_approval') plan.setState('waiting_for_approval');
    return plan.done(undefined);
  }
  if (rel.paused) return plan.paused(undefined);
  const hold = holdAt(plan.holds, ring.policy, plan.now);
  if (hold) return held(plan, ring.ring, hold, '');
  plan.emit(ringEvent(rel, ring.ring, 'started', 'started'));
  plan.push({ kind: 'start-ring', ring: ring.ring });
  return undefined;
}

/** One wave of a ring: start it, start its clusters within maxInFlight, fail them at the deadline, soak, finish. Returns a decision while the wave is not done. */
function decideWave(plan: Plan, ring: Ring, wave: Wave, ringSteps: Step[], measurements: Measurement[], elsewhere: number): Decision | undefined {
  const { rel, now, o } = plan;
  const policy = ring.policy;
  if (wave.state === 'succeeded' || wave.state === 'failed') return undefined;
  const steps = ringSteps.filter((s) => s.wave === wave.wave);
  if (wave.state === 'pending') {
    if (rel.paused) return plan.paused(undefined);
    const hold = holdAt(plan.holds, policy, now);
    if (hold) return held(plan, ring.ring, hold, `wave-${wave.wave}-`);
    wave.deadlineAt = now + scaled(policy.progressDeadlineMs, o);
    wave.state = 'in_progress';
    plan.push({ kind: 'start-wave', ring: ring.ring, wave: wave.wave, deadlineAt: wave.deadlineAt });
  }
  if (wave.state === 'in_progress') {
    if (wave.deadlineAt !== null && now >= wave.deadlineAt) {
      const late = steps.filter((s) => !isTerminal(s.state));
      // the deadline that really applied: under a time scale it differs from the policy's
      const within = scaled(policy.progressDeadlineMs, o);
      const note = within === policy.progressDeadlineMs ? '' : ` (progressDeadline ${policy.progressDeadlineMs / 1000}s at time scale ${o.timeScale})`;
      for (const s of late) plan.push({ kind: 'fail-step', step: 'deliver', cluster: s.cluster, reason: `progress deadline exceeded: not healthy within ${within / 1000}s${note}${s.reason ? ` (last: ${s.reason})` : ''}` });
      if (late.length) return plan.done(0);
    }
    // maxInFlight counts the ring's clusters in progress across every release
    const active = ringSteps.filter((s) => s.state === 'in_progress').length + elsewhere;
    const pending = steps.filter((s) => s.state === 'pending');
    if (pending.length && !rel.paused && !frozen(plan.holds)) {
      const room = policy.maxInFlight === null ? pending.length : Math.max(0, policy.maxInFlight - active);
      const starting = pending.slice(0, room).map((s) => s.cluster);
      if (starting.length) {
        plan.push({ kind: 'start-steps', step: 'deliver', clusters: starting }, { kind: 'deliver', step: 'deliver', clusters: starting });
        return plan.done(0);
      }
    }
    if (!steps.every((s) => isTerminal(s.state))) {
      if (rel.paused) return plan.paused(o.pollMs);
      return plan.done(Math.min(o.pollMs, Math.max(0, (wave.deadlineAt ?? Infinity) - now)));
    }
    wave.soakUntil = now + scaled(policy.soakMs, o);
    wave.state = 'soaking';
    plan.push({ kind: 'soak', ring: ring.ring, wave: wave.wave, until: wave.soakUntil });
  }
  if (wave.state === 'soaking') {
    const until = wave.soakUntil ?? 0;
    // metric gates (metric-gate.ts) hold the wave until every healthy cluster has its measurements
    const gates = decideMetricGates(policy, ring.ring, wave.wave, steps, measurements, now, (ms) => scaled(ms, o));
    for (const f of gates.failures) plan.push({ kind: 'fail-step', step: 'deliver', cluster: f.cluster, reason: f.reason });
    if (gates.failures.length) return plan.done(0);
    if (gates.measure.length) plan.push({ kind: 'measure', ring: ring.ring, wave: wave.wave, measurements: gates.measure });
    if (now < until || !gates.done) {
      // the gate is "the wave stays healthy": a cluster that turns Degraded while soaking fails
      const healthy = steps.filter((s) => s.state === 'succeeded').map((s) => s.cluster);
      if (healthy.length) plan.push({ kind: 'check', clusters: healthy });
      return plan.done(Math.min(now < until ? until - now : Infinity, o.pollMs, gates.next ?? Infinity));
    }
    plan.push({ kind: 'finish-wave', ring: ring.ring, wave: wave.wave });
  }
  return undefined;
}

/** A ring or wave that may not start yet (freeze, closed window): the release shows what it waits for and looks again when the window opens. */
function held(plan: Plan, ring: string, hold: Hold, at: string): Decision {
  const e = holdEvent(hold);
  plan.emit(ringEvent(plan.rel, ring, 'waiting', `${at}${e.key}`, e.data));
  if (plan.state !== 'in_progress') plan.setState('in_progress');
  return plan.done(holdNext(hold, plan.now));
}

/** Stops the rollout: the ring and release halt; with autoRollback the rollback starts at once. */
function halt(plan: Plan, ring: string, policy: ResolvedPolicy, reason: string): Decision {
  plan.emit(ringEvent(plan.rel, ring, 'failed', 'halted', { reason }));
  plan.push({ kind: 'halt', ring, reason, autoRollback: policy.autoRollback });
  if (!policy.autoRollback) return plan.done(undefined);
  plan.push({ kind: 'roll-back', reason: `automatic rollback: ${reason}` });
  return plan.done(0);
}

/** A rollback: every step starts at once, fails at its deadline, and the release ends rolled back or failed. */
function decideRollback(snap: ReleaseSnapshot, now: number, o: DecideOptions): Decision {
  const rel = snap.release;
  const steps = snap.rollback;
  if (!o.progressed) {
    const actions: ReleaseAction[] = [];
    const pending = steps.filter((s) => s.state === 'pending').map((s) => s.cluster);
    if (pending.length) actions.push({ kind: 'start-steps', step: 'rollback', clusters: pending });
    const running = steps.filter((s) => s.state === 'in_progress' || s.state === 'pending');
    // a step just started has no deadline yet: its manifest write sets it
    const late = running.filter((s) => s.state === 'in_progress' && s.deadlineAt !== null && now >= s.deadlineAt);
    for (const s of late) actions.push({ kind: 'fail-step', step: 'rollback', cluster: s.cluster, reason: `rollback not healthy before its deadline${s.reason ? ` (last: ${s.reason})` : ''}` });
    const inflight = running.filter((s) => !late.includes(s)).map((s) => s.cluster);
    if (inflight.length) actions.push({ kind: 'deliver', step: 'rollback', clusters: inflight });
    if (actions.length) return { actions, next: undefined, again: true };
  }
  if (!steps.every((s) => isTerminal(s.state))) return { actions: [], next: o.pollMs };
  const failed = steps.filter((s) => s.state === 'failed');
  const failure = failed.length ? `rollback failed on ${failed.map((s) => `${s.cluster}: ${s.reason}`).join('; ')}` : null;
  return {
    actions: [
      { kind: 'emit', events: [releaseEvent(rel, failed.length ? 'failed' : 'rolled_back', failed.length ? 'rollback-failed' : 'rolled_back')] },
      { kind: 'finish-rollback', failure },
    ],
    next: undefined,
  };
}
