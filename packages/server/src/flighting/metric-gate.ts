import type { MetricGate } from '@ringmaster/fleet';
import type { MetricGateView, ResolvedMetricGate } from '@ringmaster/api';
import type { ResolvedPolicy } from './model.ts';
import type { Step, Wave } from './steps.ts';

export type { ResolvedMetricGate };

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_COUNT = 3;

/** "1m30s" → 90000 (the fleet schema has checked the syntax). */
function durationMs(text: string | undefined): number | undefined {
  const m = text ? /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text) : null;
  return m ? ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000 : undefined;
}

/** A fleet metric gate with its defaults: every 30 s, 3 measurements, no failed one allowed. */
export function resolveMetricGate(g: MetricGate): ResolvedMetricGate {
  return {
    name: g.name, query: g.query, threshold: { ...(g.threshold.min !== undefined ? { min: g.threshold.min } : {}), ...(g.threshold.max !== undefined ? { max: g.threshold.max } : {}) },
    intervalMs: durationMs(g.interval) || DEFAULT_INTERVAL_MS, count: g.count ?? DEFAULT_COUNT, failureLimit: g.failureLimit ?? 0,
  };
}

/** One measurement as stored (release_measurements) and handed back in the snapshot. */
export interface Measurement {
  ring: string;
  wave: number;
  cluster: string;
  gate: string;
  /** The instance measured, or '' when the query names no instance or app. */
  instance: string;
  /** 0 for the first measurement of this (cluster, gate, instance). */
  seq: number;
  at: number;
  value: number | null;
  ok: boolean;
  error: string | null;
}

/** A measurement the runner is to take now: the query is filled in already. */
export interface MeasureRequest {
  cluster: string;
  gate: string;
  instance: string;
  seq: number;
  query: string;
  threshold: ResolvedMetricGate['threshold'];
}

/** The values a query's placeholders take. */
export interface QueryVariables {
  cluster: string;
  ring: string;
  instance?: string;
  app?: string;
}

/** Escapes a value for the inside of a PromQL double-quoted label string. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const PLACEHOLDER = /\{\{\s*(cluster|instance|ring|app)\s*\}\}/g;

/** Whether a query is measured per instance (it names {{instance}} or {{app}}) rather than per cluster. */
export function perInstance(query: string): boolean {
  return /\{\{\s*(instance|app)\s*\}\}/.test(query);
}

/** Fills a query's placeholders, each value escaped for a PromQL label string. */
export function templateQuery(query: string, vars: QueryVariables): string {
  return query.replace(PLACEHOLDER, (_, name: keyof QueryVariables) => escapeLabelValue(vars[name] ?? ''));
}

/** The threshold as text: "<= 0.05", ">= 10", "in [1, 2]". */
export function thresholdText(t: ResolvedMetricGate['threshold']): string {
  if (t.min !== undefined && t.max !== undefined) return `in [${t.min}, ${t.max}]`;
  return t.max !== undefined ? `<= ${t.max}` : `>= ${t.min}`;
}

/** Whether a measured value holds; null (an empty result) never does. */
export function judge(threshold: ResolvedMetricGate['threshold'], value: number | null): { ok: boolean; error: string | null } {
  if (value === null) return { ok: false, error: 'the query returned no value' };
  if (Number.isNaN(value)) return { ok: false, error: `value NaN is not ${thresholdText(threshold)}` };
  const ok = (threshold.min === undefined || value >= threshold.min) && (threshold.max === undefined || value <= threshold.max);
  return ok ? { ok, error: null } : { ok, error: `value ${value} is not ${thresholdText(threshold)}` };
}

/** What the metric gates of a soaking wave ask for now. */
export interface GateVerdict {
  /** Measurements due now. */
  measure: MeasureRequest[];
  /** Clusters whose failed measurements of a gate exceed its failureLimit, with why. */
  failures: Array<{ cluster: string; reason: string }>;
  /** Every gate has all its measurements on every healthy cluster (true when the ring has no gates). */
  done: boolean;
  /** Milliseconds until the next measurement is due (after those requested now), undefined when none is. */
  next: number | undefined;
}

/**
 * The metric gates of one wave once its clusters are healthy: per healthy cluster (and instance, for a
 * query that names one) each gate is measured every interval, `count` times; a cluster with more than
 * failureLimit failed measurements of a gate fails. Pure: the measurements so far and the time in.
 */
export function decideMetricGates(
  policy: ResolvedPolicy, ring: string, wave: number, steps: Step[], measurements: Measurement[], now: number, scale: (ms: number) => number,
): GateVerdict {
  const gates = policy.metrics ?? [];
  const verdict: GateVerdict = { measure: [], failures: [], done: true, next: undefined };
  if (gates.length === 0) return verdict;
  const mine = measurements.filter((m) => m.ring === ring && m.wave === wave);
  const soonest = (ms: number) => {
    verdict.next = verdict.next === undefined ? ms : Math.min(verdict.next, ms);
  };
  for (const step of steps) {
    if (step.state !== 'succeeded') continue;
    let failure: string | undefined;
    for (const gate of gates) {
      const targets = perInstance(gate.query) ? step.instances.filter((i) => i.action !== 'delete').map((i) => ({ instance: i.instance, app: i.app })) : [{ instance: '', app: '' }];
      const interval = Math.max(1, scale(gate.intervalMs));
      for (const t of targets) {
        const taken = mine.filter((m) => m.cluster === step.cluster && m.gate === gate.name && m.instance === t.instance).sort((a, b) => a.seq - b.seq);
        const failed = taken.filter((m) => !m.ok);
        if (failed.length > gate.failureLimit) {
          const last = failed[failed.length - 1]!;
          failure ??= `metric gate ${gate.name}${t.instance ? ` (instance ${t.instance})` : ''}: ${failed.length} of ${taken.length} measurements failed (failureLimit ${gate.failureLimit}), last ${last.error ?? 'failed'}; threshold ${thresholdText(gate.threshold)}`;
          continue;
        }
        if (taken.length >= gate.count) continue;
        verdict.done = false;
        const last = taken[taken.length - 1];
        const due = last ? last.at + interval : now;
        if (due > now) {
          soonest(due - now);
          continue;
        }
        const vars: QueryVariables = { cluster: step.cluster, ring, ...(t.instance ? { instance: t.instance, app: t.app } : {}) };
        verdict.measure.push({ cluster: step.cluster, gate: gate.name, instance: t.instance, seq: taken.length, query: templateQuery(gate.query, vars), threshold: gate.threshold });
        if (taken.length + 1 < gate.count) soonest(interval);
      }
    }
    if (failure) verdict.failures.push({ cluster: step.cluster, reason: failure });
  }
  if (verdict.failures.length) verdict.done = false;
  return verdict;
}

/** Sample values for checking a ring's queries before a release: the placeholders filled with names that parse. */
export function sampleQuery(query: string, ring: string): string {
  return templateQuery(query, { cluster: 'cluster', ring, instance: 'instance', app: 'app' });
}

/** A ring's gates with their measurements, as the release answer shows them. */
export function metricGateViews(ring: string, gates: ResolvedMetricGate[], measurements: Measurement[]): MetricGateView[] {
  return gates.map((g) => ({
    gate: g.name, query: g.query, threshold: g.threshold, count: g.count, failureLimit: g.failureLimit,
    measurements: measurements.filter((m) => m.ring === ring && m.gate === g.name).map((m) => ({
      cluster: m.cluster, instance: m.instance || null, wave: m.wave, seq: m.seq, at: new Date(m.at).toISOString(), value: m.value, ok: m.ok, error: m.error,
    })),
  }));
}

/** Whether a ring's soak is over while its metric gates still hold a soaking wave (the gate it shows is then "metrics"). */
export function measuringPastSoak(policy: ResolvedPolicy, waves: Wave[], now: number): boolean {
  return !!policy.metrics?.length && waves.some((w) => w.state === 'soaking' && w.soakUntil !== null && w.soakUntil <= now);
}
