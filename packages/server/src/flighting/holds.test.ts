import { describe, expect, it } from 'vitest';
import { decide, type DecideOptions, type Decision, type ReleaseAction } from './decide.ts';
import { resolvePolicy, type FlightState, type ResolvedPolicy } from './model.ts';
import type { BoundaryFacts } from './holds.ts';
import type { ReleaseSnapshot, Step } from './steps.ts';

// Windows and freezes as the release state machine sees them: snapshot (with its holds) and a fake clock in, actions out.
const OPTS: DecideOptions = { pollMs: 2000, timeScale: 1, progressed: false };
const at = (iso: string) => Date.parse(iso);
/** Prod only Mon–Thu 09:00–16:00 in Berlin. */
const PROD = resolvePolicy({ windows: [{ schedule: '0 9 * * 1-4', duration: '7h', timeZone: 'Europe/Berlin' }] });
const FRIDAY_NOON = at('2026-06-05T10:00:00Z');
const MONDAY_NINE = at('2026-06-08T07:00:00Z');
const FREEZE: BoundaryFacts = { freeze: { id: 1, reason: 'black friday', startedBy: 'ops', startedAt: 1, endedBy: null, endedAt: null, endReason: null }, overrides: [] };

function snapshot(policy: ResolvedPolicy, waves: string[][], holds?: BoundaryFacts): ReleaseSnapshot {
  return {
    release: {
      id: 'r1', revision: 'abc', override: null, state: 'pending', phase: 'rollout', paused: false, reason: null, message: null, createdBy: 'dev',
      createdAt: 0, updatedAt: 0, finishedAt: null, summary: { instances: 0, clusters: 0, rings: {}, actions: { create: 0, update: 0, delete: 0 }, apps: [], skipped: [] },
    },
    rings: [{ ring: 'prod', position: 0, state: 'pending', policy, approvedBy: null, approvedAt: null, startedAt: null, finishedAt: null }],
    waves: waves.map((_, w) => ({ ring: 'prod', wave: w, label: null, state: 'pending', startedAt: null, deadlineAt: null, soakUntil: null, finishedAt: null })),
    deliver: waves.flatMap((cs, w) => cs.map((cluster, position): Step => ({
      releaseId: 'r1', step: 'deliver', cluster, ring: 'prod', wave: w, position, delivery: { mode: 'direct' }, state: 'pending', phase: { kind: 'write' },
      instances: [], manifestCommit: null, reason: null, startedAt: null, deadlineAt: null, finishedAt: null,
    }))),
    rollback: [],
    ...(holds ? { holds } : {}),
  };
}

const kinds = (d: Decision) => d.actions.map((a) => a.kind);
const of = <K extends ReleaseAction['kind']>(d: Decision, kind: K) => d.actions.filter((a): a is Extract<ReleaseAction, { kind: K }> => a.kind === kind);
const waiting = (d: Decision) => of(d, 'emit').flatMap((a) => a.events).filter((e) => e.status === 'waiting');

/** What the runner would write, without I/O; delivered steps end as `outcome` says. */
function apply(s: ReleaseSnapshot, d: Decision, now: number, outcome: FlightState): ReleaseSnapshot {
  const next = structuredClone(s);
  const waveOf = (w: number) => next.waves.find((x) => x.wave === w)!;
  for (const a of d.actions) {
    if (a.kind === 'set-release') next.release.state = a.state;
    else if (a.kind === 'start-ring') next.rings[0]!.state = 'in_progress';
    else if (a.kind === 'finish-ring') next.rings[0]!.state = 'succeeded';
    else if (a.kind === 'start-wave') Object.assign(waveOf(a.wave), { state: 'in_progress', deadlineAt: a.deadlineAt, startedAt: now });
    else if (a.kind === 'soak') Object.assign(waveOf(a.wave), { state: 'soaking', soakUntil: a.until });
    else if (a.kind === 'finish-wave') waveOf(a.wave).state = 'succeeded';
    else if (a.kind === 'start-steps') for (const c of a.clusters) Object.assign(next.deliver.find((x) => x.cluster === c)!, { state: 'in_progress', startedAt: now });
    else if (a.kind === 'deliver') for (const c of a.clusters) next.deliver.find((x) => x.cluster === c)!.state = outcome;
    else if (a.kind === 'finish') next.release.state = 'succeeded';
  }
  return next;
}

/** Decides and applies until the release asks for a timer or nothing. */
function settle(s: ReleaseSnapshot, now: number, outcome: FlightState = 'in_progress'): { snap: ReleaseSnapshot; last: Decision; all: ReleaseAction[] } {
  const all: ReleaseAction[] = [];
  for (let i = 0; i < 50; i++) {
    let last = decide(s, now, OPTS);
    all.push(...last.actions);
    s = apply(s, last, now, outcome);
    if (last.again) {
      last = decide(s, now, { ...OPTS, progressed: true });
      all.push(...last.actions);
      s = apply(s, last, now, outcome);
    }
    if (last.next !== 0) return { snap: s, last, all };
  }
  throw new Error('the release never settled');
}

describe('deployment windows in the release decision', () => {
  it('waits outside the window, says when it opens, and looks again then', () => {
    const d = decide(snapshot(PROD, [['p1']]), FRIDAY_NOON, OPTS);
    expect(kinds(d)).not.toContain('start-ring');
    expect(waiting(d)).toEqual([expect.objectContaining({ ring: 'prod', data: { gate: 'window', opensAt: '2026-06-08T07:00:00.000Z' } })]);
    expect(d.next).toBe(3_600_000); // capped: the engine looks again hourly until Monday
    expect(decide(snapshot(PROD, [['p1']]), MONDAY_NINE - 60_000, OPTS).next).toBe(60_000);
  });

  it('starts the ring when the window opens', () => {
    const before = settle(snapshot(PROD, [['p1']]), FRIDAY_NOON);
    expect(before.snap.rings[0]!.state).toBe('pending');
    expect(before.snap.release.state).toBe('in_progress');
    const open = settle(before.snap, MONDAY_NINE);
    expect(of({ actions: open.all, next: 0 }, 'start-steps').map((a) => a.clusters)).toEqual([['p1']]);
    expect(open.snap.rings[0]!.state).toBe('in_progress');
  });

  it('does not start the next wave once the window has closed, but lets the clusters in flight finish', () => {
    const started = settle(snapshot(PROD, [['p1'], ['p2']]), MONDAY_NINE);
    expect(started.snap.deliver[0]!.state).toBe('in_progress');
    // the window closes at 16:00 Berlin (14:00 UTC) while p1 is in flight: it is still moved
    const late = at('2026-06-08T15:00:00Z');
    const moving = decide(started.snap, late, OPTS);
    expect(moving.actions).toEqual([{ kind: 'deliver', step: 'deliver', clusters: ['p1'] }]);
    const done = settle(apply(started.snap, moving, late, 'succeeded'), late);
    expect(done.snap.waves.map((w) => w.state)).toEqual(['succeeded', 'pending']);
    expect(waiting({ actions: done.all, next: 0 })[0]!.data).toEqual({ gate: 'window', opensAt: '2026-06-09T07:00:00.000Z' });
    expect(settle(done.snap, at('2026-06-09T07:00:00Z')).snap.waves[1]!.state).toBe('in_progress');
  });

  it('passes a closed window with an admin override', () => {
    const holds: BoundaryFacts = { freeze: null, overrides: [{ gate: 'window', actor: 'admin', reason: 'hot-fix', at: 1 }] };
    expect(kinds(decide(snapshot(PROD, [['p1']], holds), FRIDAY_NOON, OPTS))).toContain('start-steps');
  });

  it('is always open for a ring without windows', () => {
    expect(kinds(decide(snapshot(resolvePolicy({}), [['p1']]), FRIDAY_NOON, OPTS))).toContain('start-ring');
  });
});

describe('a freeze in the release decision', () => {
  it('holds a release before its ring and looks again only when woken', () => {
    const d = settle(snapshot(resolvePolicy({}), [['a']], FREEZE), MONDAY_NINE);
    expect(d.snap.rings[0]!.state).toBe('pending');
    expect(d.last.next).toBeUndefined();
    expect(waiting({ actions: d.all, next: 0 })[0]!.data).toEqual({ gate: 'freeze', reason: 'black friday', by: 'ops' });
  });

  it('holds at the next boundary: steps in flight finish, no cluster or wave starts, and its end resumes', () => {
    const running = settle(snapshot(resolvePolicy({ maxInFlight: 1 }), [['a', 'b'], ['c']]), MONDAY_NINE);
    expect(running.snap.deliver.map((s) => s.state)).toEqual(['in_progress', 'pending', 'pending']);
    const frozen = { ...running.snap, holds: FREEZE };
    const moving = decide(frozen, MONDAY_NINE + 1000, OPTS);
    expect(moving.actions).toEqual([{ kind: 'deliver', step: 'deliver', clusters: ['a'] }]);
    const after = settle(apply(frozen, moving, MONDAY_NINE + 1000, 'succeeded'), MONDAY_NINE + 1000);
    expect(kinds({ actions: after.all, next: 0 })).not.toContain('start-steps');
    expect(after.snap.deliver.map((s) => s.state)).toEqual(['succeeded', 'pending', 'pending']);
    // the freeze ends: b starts
    const resumed = settle({ ...after.snap, holds: { freeze: null, overrides: [] } }, MONDAY_NINE + 2000);
    expect(of({ actions: resumed.all, next: 0 }, 'start-steps').map((a) => a.clusters)).toEqual([['b']]);
  });

  it('holds before a ring even with its window open, and an override passes the freeze only', () => {
    expect(kinds(decide(snapshot(PROD, [['p1']], FREEZE), MONDAY_NINE, OPTS))).not.toContain('start-ring');
    const pastFreeze: BoundaryFacts = { ...FREEZE, overrides: [{ gate: 'freeze', actor: 'admin', reason: 'security fix', at: 1 }] };
    expect(kinds(decide(snapshot(PROD, [['p1']], pastFreeze), MONDAY_NINE, OPTS))).toContain('start-steps');
    // past the freeze, the window still applies
    expect(waiting(decide(snapshot(PROD, [['p1']], pastFreeze), FRIDAY_NOON, OPTS))[0]!.data).toMatchObject({ gate: 'window' });
  });
});
