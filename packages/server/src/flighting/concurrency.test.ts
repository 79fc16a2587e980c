import { describe, expect, it } from 'vitest';
import { decide, type DecideOptions, type Decision, type ReleaseAction } from './decide.ts';
import { admit, waitsFor, type ActiveRelease } from './concurrency.ts';
import { resolvePolicy } from './model.ts';
import type { Release, ReleaseSnapshot, Step, Wave } from './steps.ts';

// Concurrent releases without a database: snapshots in, actions out, time is a number (a fake clock).
const T0 = 1_700_000_000_000;
const OPTS: DecideOptions = { pollMs: 2000, timeScale: 1, progressed: false };

const release = (over: Partial<Release> = {}): Release => ({
  id: 'r2', revision: 'abc', override: null, state: 'in_progress', phase: 'rollout', paused: false, reason: null, message: null, createdBy: 'dev',
  createdAt: T0, updatedAt: T0, finishedAt: null, summary: { instances: 0, clusters: 0, rings: {}, actions: { create: 0, update: 0, delete: 0 }, apps: ['shop'], skipped: [] },
  supersededBy: null, only: null, ...over,
});
const step = (cluster: string, over: Partial<Step> = {}): Step => ({
  releaseId: 'r2', step: 'deliver', cluster, ring: 'prod', wave: 0, position: 0, delivery: { mode: 'direct' }, state: 'pending', phase: { kind: 'write' },
  instances: [], manifestCommit: null, reason: null, startedAt: null, deadlineAt: null, finishedAt: null, ...over,
});
const wave = (over: Partial<Wave> = {}): Wave => ({ ring: 'prod', wave: 0, label: null, state: 'in_progress', startedAt: T0, deadlineAt: T0 + 600_000, soakUntil: null, finishedAt: null, ...over });

function snapshot(over: Partial<ReleaseSnapshot> & { maxInFlight?: number } = {}): ReleaseSnapshot {
  const { maxInFlight, ...rest } = over;
  return {
    release: release(),
    rings: [{ ring: 'prod', position: 0, state: 'in_progress', policy: resolvePolicy({ maxInFlight: maxInFlight ?? 2 }), approvedBy: null, approvedAt: null, startedAt: T0, finishedAt: null }],
    waves: [wave()], deliver: [step('a'), step('b'), step('c')], rollback: [], inFlightElsewhere: {}, waitsFor: [], ...rest,
  };
}

const of = <K extends ReleaseAction['kind']>(d: Decision, kind: K) => d.actions.filter((a): a is Extract<ReleaseAction, { kind: K }> => a.kind === kind);
const started = (d: Decision) => of(d, 'start-steps').flatMap((a) => a.clusters);
const active = (id: string, createdAt: number, apps: string[], over: Partial<ActiveRelease> = {}): ActiveRelease => ({ id, createdAt, state: 'in_progress', phase: 'rollout', apps, ...over });

describe('admitting a release next to active ones', () => {
  it('starts at once when no active release changes one of its apps', () => {
    expect(admit(['billing'], [active('r1', T0, ['shop'])], () => 'queue')).toEqual({ state: 'pending', supersede: [] });
  });

  it('queues behind an overlapping release by default', () => {
    expect(admit(['shop', 'billing'], [active('r1', T0, ['shop'])], () => 'queue')).toEqual({ state: 'queued', supersede: [] });
  });

  it('supersedes the overlapping releases still rolling out when every shared app says supersede, and waits for one rolling back', () => {
    const others = [active('r1', T0, ['shop']), active('r0', T0 - 1, ['shop'], { phase: 'rollback' }), active('r9', T0, ['other'])];
    expect(admit(['shop'], others, () => 'supersede')).toEqual({ state: 'queued', supersede: ['r1'] });
  });

  it('queues when the shared apps disagree: queue wins', () => {
    const others = [active('r1', T0, ['shop', 'billing'])];
    expect(admit(['shop', 'billing'], others, (app) => (app === 'shop' ? 'supersede' : 'queue'))).toEqual({ state: 'queued', supersede: [] });
  });
});

describe('what a queued release waits for', () => {
  it('names every earlier active release sharing an app, oldest first, and never a later or finished one', () => {
    const others = [active('r3', T0 + 3, ['shop']), active('r1', T0 + 1, ['shop']), active('r0', T0, ['shop'], { state: 'succeeded' }), active('r2', T0 + 2, ['billing']), active('r5', T0 + 5, ['shop'])];
    expect(waitsFor({ id: 'r4', createdAt: T0 + 4, apps: ['shop'] }, others)).toEqual(['r1', 'r3']);
  });
});

describe('deciding a queued release', () => {
  it('waits while an earlier overlapping release is active, and looks again later', () => {
    const d = decide(snapshot({ release: release({ state: 'queued' }), waitsFor: ['r1'] }), T0, OPTS);
    expect(d.actions).toEqual([]);
    expect(d.next).toBe(OPTS.pollMs);
  });

  it('leaves the queue (its plan made again) once nothing is ahead of it', () => {
    const d = decide(snapshot({ release: release({ state: 'queued' }) }), T0, OPTS);
    expect(d.actions).toEqual([{ kind: 'dequeue' }]);
    expect(d.again).toBe(true);
  });
});

describe('deciding a superseded release', () => {
  it('lets its clusters in flight finish and starts nothing new', () => {
    const snap = snapshot({ release: release({ supersededBy: 'r3' }), deliver: [step('a', { state: 'in_progress' }), step('b')] });
    const first = decide(snap, T0, OPTS);
    expect(first.actions).toEqual([{ kind: 'deliver', step: 'deliver', clusters: ['a'] }]);
    const second = decide(snap, T0, { ...OPTS, progressed: true });
    expect(started(second)).toEqual([]);
    expect(of(second, 'supersede')).toEqual([]);
    expect(second.next).toBe(OPTS.pollMs);
  });

  it('ends at the clean boundary once no cluster step is in flight', () => {
    const snap = snapshot({ release: release({ supersededBy: 'r3' }), deliver: [step('a', { state: 'succeeded' }), step('b')] });
    const d = decide(snap, T0, OPTS);
    expect(of(d, 'supersede')).toEqual([{ kind: 'supersede', by: 'r3' }]);
    expect(of(d, 'emit').flatMap((e) => e.events.map((x) => x.status))).toEqual(['superseded']);
  });

  it('fails a cluster still in flight at its wave deadline, then ends', () => {
    const snap = snapshot({ release: release({ supersededBy: 'r3' }), deliver: [step('a', { state: 'in_progress' })] });
    const late = T0 + 600_000;
    const d = decide(snap, late, { ...OPTS, progressed: true });
    expect(of(d, 'fail-step').map((a) => a.cluster)).toEqual(['a']);
    expect(of(d, 'supersede')).toEqual([]);
  });

  it('is not interrupted while rolling back', () => {
    const snap = snapshot({ release: release({ supersededBy: 'r3', phase: 'rollback' }), rollback: [step('a', { step: 'rollback', state: 'in_progress', deadlineAt: T0 + 1000 })] });
    expect(of(decide(snap, T0, OPTS), 'supersede')).toEqual([]);
  });
});

describe('maxInFlight across releases', () => {
  it('starts only what is left of the ring\'s maxInFlight after other releases\' clusters in flight', () => {
    const d = decide(snapshot({ maxInFlight: 2, inFlightElsewhere: { prod: 1, dev: 5 } }), T0, { ...OPTS, progressed: true });
    expect(started(d)).toEqual(['a']);
  });

  it('starts nothing while other releases fill the ring, and starts once they finish', () => {
    const snap = snapshot({ maxInFlight: 2, inFlightElsewhere: { prod: 2 } });
    const full = decide(snap, T0, { ...OPTS, progressed: true });
    expect(started(full)).toEqual([]);
    expect(full.next).toBe(OPTS.pollMs);
    const freed = decide({ ...snap, inFlightElsewhere: {} }, T0 + OPTS.pollMs, { ...OPTS, progressed: true });
    expect(started(freed)).toEqual(['a', 'b']);
  });

  it('counts together with the release\'s own clusters in flight', () => {
    const d = decide(snapshot({ maxInFlight: 3, inFlightElsewhere: { prod: 1 }, deliver: [step('a', { state: 'in_progress' }), step('b'), step('c')] }), T0, { ...OPTS, progressed: true });
    expect(started(d)).toEqual(['b']);
  });
});
