import { describe, expect, it } from 'vitest';
import { nextTargetState, ringEvent, stepEvent, TARGET_STATES, TARGET_TRANSITIONS, type TargetEvent, type TargetState } from './targets.ts';

describe('the target transition table', () => {
  it('walks a target from planned to healthy as the release and the cluster report it', () => {
    const events: TargetEvent[] = ['planned', 'ring.waiting', 'ring.opened', 'step.started', 'manifest.committed', 'step.succeeded', 'synced', 'healthy'];
    let state: TargetState | undefined;
    const seen: Array<TargetState | undefined> = [];
    for (const e of events) {
      state = nextTargetState(state, e) ?? state;
      seen.push(state);
    }
    expect(seen).toEqual(['planned', 'waiting', 'planned', 'promoting', 'committed', 'promoted', 'synced', 'healthy']);
  });

  it('never lets an older step event undo what the cluster reported; a failure always lands', () => {
    expect(nextTargetState('healthy', 'step.succeeded')).toBeUndefined();
    expect(nextTargetState('synced', 'step.started')).toBeUndefined();
    expect(nextTargetState('healthy', 'manifest.committed')).toBeUndefined();
    expect(nextTargetState('healthy', 'step.failed')).toBe('failed');
    expect(nextTargetState('healthy', 'degraded')).toBe('degraded');
    expect(nextTargetState('degraded', 'healthy')).toBe('healthy');
    expect(nextTargetState('healthy', 'out_of_sync')).toBeUndefined();
    expect(nextTargetState('synced', 'out_of_sync')).toBe('out_of_sync');
  });

  it('a stopped release leaves only what it had not reached "not reached"', () => {
    for (const s of ['planned', 'waiting', 'promoting'] as const) expect(nextTargetState(s, 'release.stopped')).toBe('not_reached');
    for (const s of ['promoted', 'committed', 'synced', 'healthy', 'degraded'] as const) expect(nextTargetState(s, 'release.stopped')).toBeUndefined();
  });

  it('a new target takes the state of its first event', () => {
    expect(nextTargetState(undefined, 'synced')).toBe('synced');
  });

  it('names only known states, and maps every promotion status', () => {
    for (const t of Object.values(TARGET_TRANSITIONS)) for (const s of [t.to, ...(t.from ?? [])]) expect(TARGET_STATES).toContain(s);
    expect(['started', 'waiting', 'approved', 'succeeded', 'failed', 'rolled_back', 'aborted'].map(stepEvent)).not.toContain(undefined);
    expect([ringEvent('waiting'), ringEvent('approved'), ringEvent('started'), ringEvent('failed'), ringEvent('succeeded')]).toEqual(['ring.waiting', 'ring.opened', 'ring.opened', 'release.stopped', undefined]);
  });
});
