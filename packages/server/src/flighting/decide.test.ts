import { describe, expect, it } from 'vitest';
import { decide, type DecideOptions, type Decision, type ReleaseAction } from './decide.ts';
import { resolvePolicy, type FlightState, type ResolvedPolicy } from './model.ts';
import type { Release, ReleaseSnapshot, Ring, Step, Wave } from './steps.ts';

// The release state machine without a database or a cluster: snapshots in, actions out, time is a number.
const T0 = 1_700_000_000_000;
const OPTS: DecideOptions = { pollMs: 2000, timeScale: 1, progressed: false };

function release(over: Partial<Release> = {}): Release {
  return {
    id: 'r1', revision: 'abc', override: null, state: 'pending', phase: 'rollout', paused: false, reason: null, message: null, createdBy: 'dev',
    createdAt: T0, updatedAt: T0, finishedAt: null, summary: { instances: 0, clusters: 0, rings: {}, actions: { create: 0, update: 0, delete: 0 }, apps: [], skipped: [] },
    ...over,
  };
}

function step(cluster: string, ring: string, wave = 0, over: Partial<Step> = {}): Step {
  return {
    releaseId: 'r1', step: 'deliver', cluster, ring, wave, position: 0, delivery: { mode: 'direct' }, state: 'pending', phase: { kind: 'write' },
    instances: [], manifestCommit: null, reason: null, startedAt: null, deadlineAt: null, finishedAt: null, ...over,
  };
}

const ring = (name: string, policy: ResolvedPolicy, over: Partial<Ring> = {}): Ring => ({
  ring: name, position: 0, state: 'pending', policy, approvedBy: null, approvedAt: null, startedAt: null, finishedAt: null, ...over,
});
const wave = (r: string, w: number, over: Partial<Wave> = {}): Wave => ({ ring: r, wave: w, label: null, state: 'pending', startedAt: null, deadlineAt: null, soakUntil: null, finishedAt: null, ...over });

const kinds = (d: Decision) => d.actions.map((a) => a.kind);
const of = <K extends ReleaseAction['kind']>(d: Decision, kind: K) => d.actions.filter((a): a is Extract<ReleaseAction, { kind: K }> => a.kind === kind);
const statuses = (d: Decision) => of(d, 'emit').flatMap((a) => a.events.map((e) => `${e.kind}:${e.status}`));

/**
 * Does what the runner would do to the snapshot (no I/O): state changes as the store writes them;
 * delivered steps end as `outcome` says (default: they stay in flight).
 */
function apply(s: ReleaseSnapshot, d: Decision, now: number, outcome: (st: Step) => FlightState = () => 'in_progress'): ReleaseSnapshot {
  const next = structuredClone(s);
  const find = (kind: Step['step'], cluster: string) => (kind === 'deliver' ? next.deliver : next.rollback).find((x) => x.cluster === cluster)!;
  const ringOf = (name: string) => next.rings.find((r) => r.ring === name)!;
  const waveOf = (r: string, w: number) => next.waves.find((x) => x.ring === r && x.wave === w)!;
  for (const a of d.actions) {
    if (a.kind === 'set-release') next.release.state = a.state;
    else if (a.kind === 'skip-ring' || a.kind === 'finish-ring') ringOf(a.ring).state = 'succeeded';
    else if (a.kind === 'wait-for-approval') ringOf(a.ring).state = 'waiting_for_approval';
    else if (a.kind === 'start-ring') ringOf(a.ring).state = 'in_progress';
    else if (a.kind === 'start-wave') Object.assign(waveOf(a.ring, a.wave), { state: 'in_progress', deadlineAt: a.deadlineAt, startedAt: now });
    else if (a.kind === 'soak') Object.assign(waveOf(a.ring, a.wave), { state: 'soaking', soakUntil: a.until });
    else if (a.kind === 'finish-wave') waveOf(a.ring, a.wave).state = 'succeeded';
    else if (a.kind === 'start-steps') for (const c of a.clusters) Object.assign(find(a.step, c), { state: 'in_progress', startedAt: now });
    else if (a.kind === 'deliver') for (const c of a.clusters) find(a.step, c).state = outcome(find(a.step, c));
    else if (a.kind === 'fail-step') Object.assign(find(a.step, a.cluster), { state: 'failed', reason: a.reason });
    else if (a.kind === 'finish') next.release.state = 'succeeded';
    else if (a.kind === 'halt') next.release.state = 'halted';
    else if (a.kind === 'roll-back') {
      Object.assign(next.release, { phase: 'rollback', state: 'in_progress' });
      next.rollback = next.deliver.filter((x) => x.state !== 'pending').map((x) => ({ ...x, step: 'rollback', state: 'pending', deadlineAt: null }));
    } else if (a.kind === 'finish-rollback') next.release.state = a.failure === null ? 'rolled_back' : 'failed';
  }
  return next;
}

/** Decides and applies until the release asks for a timer or nothing (steps in flight end as `outcome` says). */
function settle(s: ReleaseSnapshot, now: number, outcome?: (st: Step) => FlightState): { snap: ReleaseSnapshot; last: Decision; all: ReleaseAction[] } {
  const all: ReleaseAction[] = [];
  for (let i = 0; i < 50; i++) {
    const first = decide(s, now, OPTS);
    all.push(...first.actions);
    s = apply(s, first, now, outcome);
    let last = first;
    if (first.again) {
      last = decide(s, now, { ...OPTS, progressed: true });
      all.push(...last.actions);
      s = apply(s, last, now, outcome);
    }
    if (last.next !== 0) return { snap: s, last, all };
  }
  throw new Error('the release never settled');
}

const oneRing = (policy: ResolvedPolicy, clusters: string[][], over: Partial<Ring> = {}): ReleaseSnapshot => ({
  release: release(),
  rings: [ring('dev', policy, over)],
  waves: clusters.map((_, w) => wave('dev', w)),
  deliver: clusters.flatMap((cs, w) => cs.map((c) => step(c, 'dev', w))),
  rollback: [],
});

describe('a release decision', () => {
  it('starts the release, its ring, its wave and every cluster of the wave with no in-flight limit', () => {
    const d = decide(oneRing(resolvePolicy({}), [['a', 'b']]), T0, OPTS);
    expect(kinds(d)).toEqual(['emit', 'set-release', 'emit', 'start-ring', 'start-wave', 'start-steps', 'deliver']);
    expect(statuses(d)).toEqual(['release:started', 'promotion.step:started']);
    expect(of(d, 'start-wave')[0]!.deadlineAt).toBe(T0 + 600_000);
    expect(of(d, 'start-steps')[0]!.clusters).toEqual(['a', 'b']);
    expect(d.next).toBe(0);
  });

  it('moves the steps in flight first, then decides again on what they left', () => {
    const s = oneRing(resolvePolicy({}), [['a']]);
    s.release.state = 'in_progress';
    s.deliver[0]!.state = 'in_progress';
    const d = decide(s, T0, OPTS);
    expect(d).toEqual({ actions: [{ kind: 'deliver', step: 'deliver', clusters: ['a'] }], next: undefined, again: true });
    expect(decide(s, T0, { ...OPTS, progressed: true }).actions.some((a) => a.kind === 'deliver')).toBe(false);
  });

  it('keeps at most maxInFlight clusters in flight', () => {
    let s = oneRing(resolvePolicy({ maxInFlight: 2 }), [['a', 'b', 'c', 'd', 'e']]);
    const first = settle(s, T0);
    expect(of({ actions: first.all, next: 0 }, 'start-steps').map((a) => a.clusters)).toEqual([['a', 'b']]);
    expect(first.last.next).toBe(2000);
    // a and b finish: the next two start, e still waits
    s = first.snap;
    for (const c of ['a', 'b']) s.deliver.find((x) => x.cluster === c)!.state = 'succeeded';
    const second = settle(s, T0 + 2000);
    expect(of({ actions: second.all, next: 0 }, 'start-steps').map((a) => a.clusters)).toEqual([['c', 'd']]);
    expect(second.snap.deliver.find((x) => x.cluster === 'e')!.state).toBe('pending');
  });

  it('runs waves one after the other: the next wave starts only once the one before has soaked', () => {
    const policy = resolvePolicy({ waves: { size: 1 }, soak: '5m' });
    const { snap, last } = settle(oneRing(policy, [['a'], ['b']]), T0, () => 'succeeded');
    expect(snap.waves.map((w) => w.state)).toEqual(['soaking', 'pending']);
    expect(snap.deliver.find((x) => x.cluster === 'b')!.state).toBe('pending');
    // while soaking it re-checks the healthy cluster and looks again at the next poll
    expect(of(last, 'check')).toEqual([{ kind: 'check', clusters: ['a'] }]);
    expect(last.next).toBe(2000);
    const later = settle(snap, T0 + 300_000, () => 'succeeded');
    expect(later.snap.waves.map((w) => w.state)).toEqual(['succeeded', 'soaking']);
  });

  it('waits exactly the soak time at the last poll before it ends', () => {
    const { snap } = settle(oneRing(resolvePolicy({ soak: '5s' }), [['a']]), T0, () => 'succeeded');
    expect(decide(snap, T0 + 4000, OPTS).next).toBe(1000);
    const done = settle(snap, T0 + 5000);
    expect(done.snap.release.state).toBe('succeeded');
    expect(statuses({ actions: done.all, next: 0 })).toEqual(['promotion.step:succeeded', 'release:succeeded']);
  });

  it('scales soak and progress deadline by the time scale', () => {
    const d = decide(oneRing(resolvePolicy({ progressDeadline: '10m' }), [['a']]), T0, { ...OPTS, timeScale: 0.1 });
    expect(of(d, 'start-wave')[0]!.deadlineAt).toBe(T0 + 60_000);
  });

  it('succeeds a ring with no clusters without starting it', () => {
    const s: ReleaseSnapshot = { release: release(), rings: [ring('dev', resolvePolicy({ approval: 'manual' }))], waves: [], deliver: [], rollback: [] };
    const d = decide(s, T0, OPTS);
    expect(kinds(d)).toEqual(['emit', 'set-release', 'skip-ring', 'emit', 'finish']);
  });
});

describe('the approval gate', () => {
  const manual = resolvePolicy({ approval: 'manual' });

  it('holds a manual ring until it is approved, however long it waits, and says so once', () => {
    const s = oneRing(manual, [['a']]);
    const d = decide(s, T0, OPTS);
    expect(kinds(d)).toEqual(['emit', 'set-release', 'emit', 'wait-for-approval', 'set-release']);
    expect(of(d, 'emit')[1]!.events[0]).toMatchObject({ status: 'waiting', data: { gate: 'approval' } });
    expect(d.next).toBeUndefined();
    // a day later nothing has moved: no write, no event, no timer
    const waiting = apply(s, d, T0);
    expect(waiting.release.state).toBe('waiting_for_approval');
    expect(decide(waiting, T0 + 86_400_000, OPTS)).toEqual({ actions: [], next: undefined });
  });

  it('starts the ring once approved', () => {
    const s = oneRing(manual, [['a']], { state: 'waiting_for_approval', approvedBy: 'alice' });
    s.release.state = 'waiting_for_approval';
    const d = decide(s, T0, OPTS);
    expect(kinds(d)).toEqual(['emit', 'start-ring', 'set-release', 'start-wave', 'start-steps', 'deliver']);
  });

  it('passes an auto ring straight through', () => {
    expect(kinds(decide(oneRing(resolvePolicy({ approval: 'auto' }), [['a']]), T0, OPTS))).toContain('start-ring');
  });
});

describe('pause, resume and abort', () => {
  it('a paused release approved while paused starts nothing, however long it stays paused', () => {
    const s = oneRing(resolvePolicy({ approval: 'manual' }), [['a']], { state: 'waiting_for_approval', approvedBy: 'alice' });
    Object.assign(s.release, { state: 'paused', paused: true });
    expect(decide(s, T0, OPTS)).toEqual({ actions: [], next: undefined });
    expect(decide(s, T0 + 86_400_000, OPTS)).toEqual({ actions: [], next: undefined });
  });

  it('a pause keeps the next clusters from starting and marks the release paused; in-flight clusters are still watched', () => {
    const s = oneRing(resolvePolicy({ maxInFlight: 1 }), [['a', 'b']], { state: 'in_progress' });
    Object.assign(s.release, { state: 'in_progress', paused: true });
    Object.assign(s.waves[0]!, { state: 'in_progress', deadlineAt: T0 + 600_000 });
    s.deliver[0]!.state = 'in_progress';
    expect(kinds(decide(s, T0, OPTS))).toEqual(['deliver']);
    const d = decide(s, T0, { ...OPTS, progressed: true });
    expect(d.actions).toEqual([{ kind: 'set-release', state: 'paused' }]);
    expect(d.next).toBe(2000);
  });

  it('resumed, it goes on where it stopped', () => {
    const s = oneRing(resolvePolicy({ maxInFlight: 1 }), [['a', 'b']], { state: 'in_progress' });
    Object.assign(s.release, { state: 'in_progress', paused: false });
    Object.assign(s.waves[0]!, { state: 'in_progress', deadlineAt: T0 + 600_000 });
    s.deliver[0]!.state = 'succeeded';
    expect(of(decide(s, T0, OPTS), 'start-steps')).toEqual([{ kind: 'start-steps', step: 'deliver', clusters: ['b'] }]);
  });

  it('an aborted (or otherwise finished) release gets no action', () => {
    for (const state of ['aborted', 'succeeded', 'halted', 'failed', 'rolled_back'] as const) {
      const s = oneRing(resolvePolicy({}), [['a']]);
      s.release.state = state;
      expect(decide(s, T0, OPTS)).toEqual({ actions: [], next: undefined });
    }
  });
});

describe('failures', () => {
  const inFlight = (policy: ResolvedPolicy, states: FlightState[]): ReleaseSnapshot => {
    const s = oneRing(policy, [states.map((_, i) => `c${i}`)], { state: 'in_progress' });
    s.release.state = 'in_progress';
    Object.assign(s.waves[0]!, { state: 'in_progress', deadlineAt: T0 + 600_000 });
    s.deliver.forEach((x, i) => Object.assign(x, { state: states[i], reason: states[i] === 'failed' ? 'Degraded' : null }));
    return s;
  };

  it('tolerates up to maxFailures failed clusters', () => {
    const d = decide(inFlight(resolvePolicy({ maxFailures: 1 }), ['failed', 'succeeded']), T0, OPTS);
    expect(kinds(d)).toContain('soak');
    expect(kinds(d)).not.toContain('halt');
  });

  it('halts the ring and the release past maxFailures, and stops there without autoRollback', () => {
    const d = decide(inFlight(resolvePolicy({ maxFailures: 1 }), ['failed', 'failed']), T0, OPTS);
    expect(of(d, 'halt')).toEqual([{ kind: 'halt', ring: 'dev', reason: '2 cluster(s) failed in ring dev (maxFailures 1): c0: Degraded; c1: Degraded', autoRollback: false }]);
    expect(of(d, 'emit')[0]!.events[0]).toMatchObject({ status: 'failed', idempotencyKey: 'release:r1:ring:dev:halted' });
    expect(kinds(d)).not.toContain('roll-back');
    expect(d.next).toBeUndefined();
  });

  it('with autoRollback, starts the rollback at once', () => {
    const d = decide(inFlight(resolvePolicy({ autoRollback: true }), ['failed']), T0, OPTS);
    expect(of(d, 'roll-back')).toEqual([{ kind: 'roll-back', reason: 'automatic rollback: 1 cluster(s) failed in ring dev (maxFailures 0): c0: Degraded' }]);
    expect(d.next).toBe(0);
  });

  it('fails the clusters not done at the progress deadline (naming the time scale when one applies), not a moment before', () => {
    const s = inFlight(resolvePolicy({ progressDeadline: '10m', maxFailures: 5 }), ['in_progress', 'succeeded']);
    s.deliver[0]!.reason = 'Deployment web: 0/1 ready';
    const before = decide(s, T0 + 599_999, { ...OPTS, progressed: true });
    expect(kinds(before)).toEqual([]);
    expect(before.next).toBe(1);
    const at = decide(s, T0 + 600_000, { ...OPTS, progressed: true, timeScale: 0.5 });
    expect(of(at, 'fail-step')).toEqual([{ kind: 'fail-step', step: 'deliver', cluster: 'c0', reason: 'progress deadline exceeded: not healthy within 300s (progressDeadline 600s at time scale 0.5) (last: Deployment web: 0/1 ready)' }]);
    expect(at.next).toBe(0);
  });

  it('the ring after a halted ring never starts', () => {
    const s = inFlight(resolvePolicy({}), ['failed']);
    s.rings[0]!.state = 'halted';
    s.rings.push(ring('prod', resolvePolicy({}), { position: 1 }));
    expect(decide(s, T0, OPTS)).toEqual({ actions: [], next: undefined });
  });
});

describe('a rollback', () => {
  const rollingBack = (states: FlightState[], deadlineAt: number | null = null): ReleaseSnapshot => {
    const s = oneRing(resolvePolicy({}), [states.map((_, i) => `c${i}`)], { state: 'halted' });
    Object.assign(s.release, { phase: 'rollback', state: 'in_progress' });
    s.rollback = states.map((st, i) => step(`c${i}`, 'dev', 0, { step: 'rollback', state: st, deadlineAt, reason: st === 'failed' ? 'Degraded' : null }));
    return s;
  };

  it('starts every rollback step at once and runs them', () => {
    const d = decide(rollingBack(['pending', 'pending']), T0, OPTS);
    expect(d).toEqual({ actions: [{ kind: 'start-steps', step: 'rollback', clusters: ['c0', 'c1'] }, { kind: 'deliver', step: 'rollback', clusters: ['c0', 'c1'] }], next: undefined, again: true });
  });

  it('fails a rollback step past its deadline instead of running it', () => {
    const d = decide(rollingBack(['in_progress', 'succeeded'], T0), T0, OPTS);
    expect(d.actions).toEqual([{ kind: 'fail-step', step: 'rollback', cluster: 'c0', reason: 'rollback not healthy before its deadline' }]);
  });

  it('looks again at the next poll while a step is still rolling back', () => {
    expect(decide(rollingBack(['in_progress'], T0 + 10_000), T0, { ...OPTS, progressed: true })).toEqual({ actions: [], next: 2000 });
  });

  it('ends rolled back when every step succeeded', () => {
    const d = decide(rollingBack(['succeeded', 'succeeded']), T0, OPTS);
    expect(d.actions).toEqual([
      { kind: 'emit', events: [{ kind: 'release', release: 'r1', commit: 'abc', status: 'rolled_back', idempotencyKey: 'release:r1:rolled_back' }] },
      { kind: 'finish-rollback', failure: null },
    ]);
  });

  it('ends failed, naming each cluster, when a step failed', () => {
    const d = decide(rollingBack(['failed', 'succeeded']), T0, OPTS);
    expect(statuses(d)).toEqual(['release:failed']);
    expect(of(d, 'finish-rollback')).toEqual([{ kind: 'finish-rollback', failure: 'rollback failed on c0: Degraded' }]);
  });

  it('a halted rollout with autoRollback ends rolled back once its clusters are back', () => {
    const s = oneRing(resolvePolicy({ autoRollback: true }), [['a']]);
    const { snap } = settle(s, T0, (st) => (st.step === 'deliver' ? 'failed' : 'in_progress'));
    expect(snap.release).toMatchObject({ phase: 'rollback', state: 'in_progress' });
    const done = settle(snap, T0 + 1000, () => 'succeeded');
    expect(done.snap.release.state).toBe('rolled_back');
  });
});
