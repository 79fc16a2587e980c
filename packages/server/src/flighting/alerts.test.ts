import { describe, expect, it } from 'vitest';
import { decideAlerts, inFlight, type ReleaseAlert } from './alerts.ts';
import { decide, type ReleaseAction } from './decide.ts';
import { resolvePolicy } from './model.ts';
import type { Release, ReleaseSnapshot, Ring, Step, Wave } from './steps.ts';

// Alerts in, actions out: no database, no Alertmanager, time is a number.
const T0 = 1_700_000_000_000;

const release = (over: Partial<Release> = {}): Release => ({
  id: 'r1', revision: 'abc', override: null, state: 'in_progress', phase: 'rollout', paused: false, reason: null, message: null, createdBy: 'dev',
  createdAt: T0, updatedAt: T0, finishedAt: null, summary: { instances: 0, clusters: 0, rings: {}, actions: { create: 0, update: 0, delete: 0 }, apps: [], skipped: [] }, ...over,
});
const step = (cluster: string, ring: string, over: Partial<Step> = {}): Step => ({
  releaseId: 'r1', step: 'deliver', cluster, ring, wave: 0, position: 0, delivery: { mode: 'direct' }, state: 'pending', phase: { kind: 'write' },
  instances: [], manifestCommit: null, reason: null, startedAt: null, deadlineAt: null, finishedAt: null, ...over,
});
const ring = (name: string, over: Partial<Ring> = {}, policy = resolvePolicy(undefined)): Ring => ({
  ring: name, position: 0, state: 'in_progress', policy, approvedBy: null, approvedAt: null, startedAt: T0, finishedAt: null, ...over,
});
const wave = (r: string, over: Partial<Wave> = {}): Wave => ({ ring: r, wave: 0, label: null, state: 'in_progress', startedAt: T0, deadlineAt: T0 + 60_000, soakUntil: null, finishedAt: null, ...over });
const alert = (cluster: string, over: Partial<ReleaseAlert> = {}): ReleaseAlert => ({
  fingerprint: 'f1', startsAt: T0, alert: 'HighErrorRate', summary: 'errors above 5%', cluster, instance: null, ring: 'dev', status: 'firing', action: null,
  acted: false, endsAt: null, receivedAt: T0, ...over,
});

function snapshot(over: Partial<ReleaseSnapshot> = {}): ReleaseSnapshot {
  return {
    release: release(), rings: [ring('dev')], waves: [wave('dev')],
    deliver: [step('dev-1', 'dev', { state: 'in_progress' }), step('dev-2', 'dev', { state: 'in_progress' })], rollback: [], ...over,
  };
}

const of = <K extends ReleaseAction['kind']>(a: ReleaseAction[], kind: K) => a.filter((x): x is Extract<ReleaseAction, { kind: K }> => x.kind === kind);

describe('alerts that halt', () => {
  it('fails the step of the cluster in flight that a firing alert names, with the alert name and summary', () => {
    const actions = decideAlerts(snapshot({ alerts: [alert('dev-2')] }));
    expect(of(actions, 'fail-step')).toEqual([{ kind: 'fail-step', step: 'deliver', cluster: 'dev-2', reason: 'alert HighErrorRate firing: errors above 5%' }]);
    expect(of(actions, 'ack-alerts')[0]!.alerts).toEqual([{ fingerprint: 'f1', startsAt: T0, status: 'firing', action: 'fail' }]);
    const ev = of(actions, 'emit')[0]!.events[0]!;
    expect(ev).toMatchObject({ kind: 'release', release: 'r1', ring: 'dev', cluster: 'dev-2', status: 'alert', data: { alert: 'HighErrorRate', state: 'firing', action: 'fail' } });
  });

  it('pauses the release instead when the ring says alerts: { action: pause }', () => {
    const policy = { ...resolvePolicy(undefined), alerts: { action: 'pause' as const } };
    const actions = decideAlerts(snapshot({ rings: [ring('dev', {}, policy)], alerts: [alert('dev-1'), alert('dev-2', { fingerprint: 'f2' })] }));
    expect(of(actions, 'fail-step')).toEqual([]);
    expect(of(actions, 'pause')).toHaveLength(1);
    expect(of(actions, 'pause')[0]!.reason).toContain('HighErrorRate');
    expect(of(actions, 'ack-alerts')[0]!.alerts.map((a) => a.action)).toEqual(['pause', 'pause']);
  });

  it('does nothing to a cluster that is not in flight, but records the alert', () => {
    const snap = snapshot({ deliver: [step('dev-1', 'dev', { state: 'pending' }), step('dev-2', 'dev', { state: 'failed' })], alerts: [alert('dev-1'), alert('dev-2', { fingerprint: 'f2' })] });
    const actions = decideAlerts(snap);
    expect(actions.map((a) => a.kind)).toEqual(['emit', 'ack-alerts']);
    expect(of(actions, 'ack-alerts')[0]!.alerts.map((a) => a.action)).toEqual(['none', 'none']);
  });

  it('counts a delivered cluster of a soaking wave as in flight, and not one of a finished wave', () => {
    const done = step('dev-1', 'dev', { state: 'succeeded' });
    expect(inFlight(snapshot({ waves: [wave('dev', { state: 'soaking' })] }), done)).toBe(true);
    expect(inFlight(snapshot({ waves: [wave('dev', { state: 'succeeded' })] }), done)).toBe(false);
    expect(inFlight(snapshot({ release: release({ phase: 'rollback' }) }), step('dev-1', 'dev', { state: 'in_progress' }))).toBe(false);
  });

  it('records a resolved alert as resolved and acts on nothing', () => {
    const actions = decideAlerts(snapshot({ alerts: [alert('dev-1', { status: 'resolved', action: 'fail', endsAt: T0 + 1000 })] }));
    expect(actions.map((a) => a.kind)).toEqual(['emit', 'ack-alerts']);
    expect(of(actions, 'ack-alerts')[0]!.alerts).toEqual([{ fingerprint: 'f1', startsAt: T0, status: 'resolved' }]);
    expect(of(actions, 'emit')[0]!.events[0]!.data).toMatchObject({ state: 'resolved' });
  });

  it('acts once per firing: alerts already looked at give no action', () => {
    expect(decideAlerts(snapshot({ alerts: [alert('dev-1', { acted: true, action: 'fail' })] }))).toEqual([]);
  });

  it('decide takes alerts first and looks again at once; the failed cluster then halts the ring by maxFailures', () => {
    const snap = snapshot({ alerts: [alert('dev-1')] });
    const first = decide(snap, T0 + 1000, { pollMs: 2000, timeScale: 1, progressed: false });
    expect(first.next).toBe(0);
    expect(first.actions.map((a) => a.kind)).toEqual(['emit', 'fail-step', 'ack-alerts']);
    const after: ReleaseSnapshot = {
      ...snap, deliver: [step('dev-1', 'dev', { state: 'failed', reason: 'alert HighErrorRate firing: errors above 5%' }), step('dev-2', 'dev', { state: 'succeeded' })],
      alerts: [alert('dev-1', { acted: true, action: 'fail' })],
    };
    const second = decide(after, T0 + 1000, { pollMs: 2000, timeScale: 1, progressed: true });
    const halt = second.actions.find((a) => a.kind === 'halt');
    expect(halt).toMatchObject({ kind: 'halt', ring: 'dev' });
    expect((halt as { reason: string }).reason).toContain('alert HighErrorRate firing');
  });
});
