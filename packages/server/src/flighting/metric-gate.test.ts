import { describe, expect, it } from 'vitest';
import { decide, type DecideOptions, type Decision } from './decide.ts';
import { decideMetricGates, escapeLabelValue, judge, measuringPastSoak, resolveMetricGate, templateQuery, type Measurement, type MeasureRequest } from './metric-gate.ts';
import { resolvePolicy, type ResolvedPolicy } from './model.ts';
import type { ReleaseSnapshot, Step } from './steps.ts';

// Metric gates without Prometheus: measurements in, measure requests and failures out, time is a number.
const T0 = 1_700_000_000_000;
const OPTS: DecideOptions = { pollMs: 2000, timeScale: 1, progressed: false };
const same = (ms: number) => ms;

const policy = (gate: Partial<Parameters<typeof resolveMetricGate>[0]> = {}, over: Partial<ResolvedPolicy> = {}): ResolvedPolicy => ({
  ...resolvePolicy({ maxFailures: 0, autoRollback: true, soak: '5s', metrics: [{ name: 'error-rate', query: 'sum(errors{cluster="{{cluster}}"})', threshold: { max: 0.05 }, interval: '10s', count: 3, failureLimit: 1, ...gate }] }),
  ...over,
});

function step(cluster: string, over: Partial<Step> = {}): Step {
  return {
    releaseId: 'r1', step: 'deliver', cluster, ring: 'dev', wave: 0, position: 0, delivery: { mode: 'direct' }, state: 'succeeded', phase: { kind: 'observe' },
    instances: [{ instance: `app-${cluster}`, app: 'app', namespace: 'ns', action: 'update', digest: 'd', previousRelease: null, previousDigest: null }],
    manifestCommit: 'c', reason: null, startedAt: T0, deadlineAt: null, finishedAt: T0, ...over,
  };
}

/** Takes the requested measurements with the values `value` gives (what the runner does against Prometheus). */
function take(reqs: MeasureRequest[], at: number, value: (r: MeasureRequest) => number | null): Measurement[] {
  return reqs.map((r) => {
    const v = value(r);
    return { ring: 'dev', wave: 0, cluster: r.cluster, gate: r.gate, instance: r.instance, seq: r.seq, at, value: v, ...judge(r.threshold, v) };
  });
}

describe('metric gate templating', () => {
  it('fills the placeholders, escaped for a PromQL label string', () => {
    expect(templateQuery('x{cluster="{{cluster}}",ring="{{ ring }}",i="{{instance}}",a="{{app}}"}', { cluster: 'a"b\\c', ring: 'dev', instance: 'i1', app: 'web' }))
      .toBe('x{cluster="a\\"b\\\\c",ring="dev",i="i1",a="web"}');
    expect(escapeLabelValue('line\nnext')).toBe('line\\nnext');
  });

  it('judges a value against min and max; an empty result fails', () => {
    expect(judge({ max: 0.05 }, 0.01)).toEqual({ ok: true, error: null });
    expect(judge({ max: 0.05 }, 0.2)).toEqual({ ok: false, error: 'value 0.2 is not <= 0.05' });
    expect(judge({ min: 1, max: 2 }, 3).error).toBe('value 3 is not in [1, 2]');
    expect(judge({ min: 10 }, null)).toEqual({ ok: false, error: 'the query returned no value' });
  });
});

describe('decideMetricGates', () => {
  it('measures each healthy cluster every interval, count times, then holds', () => {
    const steps = [step('c1'), step('c2'), step('c3', { state: 'failed' })];
    let ms: Measurement[] = [];
    let v = decideMetricGates(policy(), 'dev', 0, steps, ms, T0, same);
    expect(v.measure.map((m) => [m.cluster, m.seq, m.query])).toEqual([['c1', 0, 'sum(errors{cluster="c1"})'], ['c2', 0, 'sum(errors{cluster="c2"})']]);
    expect(v).toMatchObject({ done: false, next: 10_000, failures: [] });
    ms = [...ms, ...take(v.measure, T0, () => 0.01)];
    // nothing is due before the interval
    v = decideMetricGates(policy(), 'dev', 0, steps, ms, T0 + 9_999, same);
    expect(v).toMatchObject({ measure: [], done: false, next: 1 });
    for (const t of [T0 + 10_000, T0 + 20_000]) {
      v = decideMetricGates(policy(), 'dev', 0, steps, ms, t, same);
      expect(v.measure).toHaveLength(2);
      ms = [...ms, ...take(v.measure, t, () => 0.01)];
    }
    v = decideMetricGates(policy(), 'dev', 0, steps, ms, T0 + 30_000, same);
    expect(v).toEqual({ measure: [], failures: [], done: true, next: undefined });
  });

  it('fails a cluster with more failed measurements than failureLimit, naming the gate, the value and the threshold', () => {
    const steps = [step('c1'), step('c2')];
    let ms: Measurement[] = [];
    for (const t of [T0, T0 + 10_000]) {
      const v = decideMetricGates(policy(), 'dev', 0, steps, ms, t, same);
      expect(v.failures).toEqual([]);
      ms = [...ms, ...take(v.measure, t, (r) => (r.cluster === 'c2' ? 0.5 : 0))];
    }
    const v = decideMetricGates(policy(), 'dev', 0, steps, ms, T0 + 20_000, same);
    expect(v.failures).toEqual([{ cluster: 'c2', reason: 'metric gate error-rate: 2 of 2 measurements failed (failureLimit 1), last value 0.5 is not <= 0.05; threshold <= 0.05' }]);
    expect(v.done).toBe(false);
  });

  it('measures per instance when the query names {{instance}}, and scales the interval', () => {
    const steps = [step('c1', { instances: [...step('c1').instances, { instance: 'gone', app: 'app', namespace: 'ns', action: 'delete', digest: '', previousRelease: 'r0', previousDigest: 'd' }] })];
    const v = decideMetricGates(policy({ query: 'up{instance="{{instance}}",app="{{app}}"}' }), 'dev', 0, steps, [], T0, (ms) => ms / 10);
    expect(v.measure.map((m) => [m.instance, m.query])).toEqual([['app-c1', 'up{instance="app-c1",app="app"}']]);
    expect(v.next).toBe(1_000);
  });

  it('holds at once for a ring without gates', () => {
    expect(decideMetricGates(resolvePolicy({}), 'dev', 0, [step('c1')], [], T0, same)).toEqual({ measure: [], failures: [], done: true, next: undefined });
  });
});

describe('decide with metric gates', () => {
  const snap = (ms: Measurement[], steps = [step('c1')]): ReleaseSnapshot => ({
    release: { id: 'r1', revision: 'abc', override: null, state: 'in_progress', phase: 'rollout', paused: false, reason: null, message: null, createdBy: 'dev', createdAt: T0, updatedAt: T0, finishedAt: null, summary: { instances: 1, clusters: 1, rings: {}, actions: { create: 0, update: 1, delete: 0 }, apps: [], skipped: [] } },
    rings: [{ ring: 'dev', position: 0, state: 'in_progress', policy: policy(), approvedBy: null, approvedAt: null, startedAt: T0, finishedAt: null }],
    waves: [{ ring: 'dev', wave: 0, label: null, state: 'soaking', startedAt: T0, deadlineAt: T0 + 600_000, soakUntil: T0 + 5_000, finishedAt: null }],
    deliver: steps, rollback: [], measurements: ms,
  });
  const kinds = (d: Decision) => d.actions.map((a) => a.kind);

  it('keeps the wave soaking past its soak time until every measurement is taken, then finishes the ring', () => {
    let d = decide(snap([]), T0, OPTS);
    expect(kinds(d)).toEqual(['measure', 'check']);
    const ok = (seq: number, at: number): Measurement => ({ ring: 'dev', wave: 0, cluster: 'c1', gate: 'error-rate', instance: '', seq, at, value: 0, ok: true, error: null });
    // soak is over, one measurement still to come: the wave waits for it, without a hot loop
    d = decide(snap([ok(0, T0), ok(1, T0 + 10_000)]), T0 + 15_000, OPTS);
    expect(kinds(d)).toEqual(['check']);
    expect(d.next).toBe(2000);
    d = decide(snap([ok(0, T0), ok(1, T0 + 10_000), ok(2, T0 + 20_000)]), T0 + 20_000, OPTS);
    expect(kinds(d)).toContain('finish-wave');
    expect(kinds(d)).toContain('finish');
  });

  it('fails the cluster whose gate fails; the ring then halts and rolls back', () => {
    const bad = (seq: number): Measurement => ({ ring: 'dev', wave: 0, cluster: 'c1', gate: 'error-rate', instance: '', seq, at: T0 + seq * 10_000, value: 0.9, ok: false, error: 'value 0.9 is not <= 0.05' });
    const d = decide(snap([bad(0), bad(1)]), T0 + 20_000, OPTS);
    expect(d.actions).toEqual([{ kind: 'fail-step', step: 'deliver', cluster: 'c1', reason: expect.stringContaining('metric gate error-rate: 2 of 2 measurements failed') }]);
    const after = decide(snap([bad(0), bad(1)], [step('c1', { state: 'failed', reason: (d.actions[0] as { reason: string }).reason })]), T0 + 20_000, OPTS);
    expect(kinds(after)).toEqual(['emit', 'halt', 'roll-back']);
  });
});

describe('measuringPastSoak', () => {
  const soaking = { ring: 'dev', wave: 0, label: null, state: 'soaking' as const, startedAt: T0, deadlineAt: null, soakUntil: T0 + 5_000, finishedAt: null };
  it('is true once the soak is over while gated waves still soak', () => {
    expect(measuringPastSoak(policy(), [soaking], T0 + 1_000)).toBe(false);
    expect(measuringPastSoak(policy(), [soaking], T0 + 5_000)).toBe(true);
    expect(measuringPastSoak(resolvePolicy({}), [soaking], T0 + 5_000)).toBe(false);
  });
});
