import type { Fleet } from '@ringmaster/fleet';
import { InputError, UnavailableError } from '../errors.ts';
import type { FlightingContext } from './context.ts';
import type { ReleaseAction } from './decide.ts';
import { MeasurementStore } from './measurement-store.ts';
import { judge, resolveMetricGate, sampleQuery, type Measurement } from './metric-gate.ts';
import { PrometheusClient } from './prometheus.ts';
import type { Release } from './steps.ts';

/** Where Prometheus is: the server option, else RINGMASTER_PROMETHEUS_URL; undefined when neither is set. */
export function prometheusUrl(ctx: FlightingContext): string | undefined {
  return ctx.options.prometheusUrl ?? (process.env.RINGMASTER_PROMETHEUS_URL || undefined);
}

/**
 * Checks every metric gate of a fleet before a release of it is created: Prometheus must be
 * configured, and each query (its placeholders filled with sample values) must pass Prometheus's own
 * parser. Prometheus is asked only when the fleet declares gates.
 */
export async function checkMetricGates(ctx: FlightingContext, fleet: Fleet, signal?: AbortSignal): Promise<void> {
  const gated = fleet.rings.filter((r) => r.policy?.metrics?.length);
  if (gated.length === 0) return;
  const url = prometheusUrl(ctx);
  if (!url) {
    const names = gated.map((r) => `${r.name} (${r.policy!.metrics!.map((g) => g.name).join(', ')})`).join('; ');
    throw new InputError(`metric gates need Prometheus, and none is configured: rings ${names} declare metric gates; start the server with --prometheus-url or RINGMASTER_PROMETHEUS_URL`, 'revision');
  }
  const prometheus = new PrometheusClient(url);
  for (const ring of gated) {
    for (const gate of ring.policy!.metrics!.map(resolveMetricGate)) {
      let message: string | null;
      try {
        message = await prometheus.parseError(sampleQuery(gate.query, ring.name), signal ?? AbortSignal.timeout(10_000));
      } catch (err) {
        throw new UnavailableError(`cannot check metric gate ${gate.name} of ring ${ring.name}: ${(err as Error).message}`, { cause: err });
      }
      if (message !== null) throw new InputError(`ring ${ring.name}, metric gate ${gate.name}: invalid PromQL query "${gate.query}": ${message}`, `rings.${ring.name}.policy.metrics.${gate.name}.query`);
    }
  }
}

/**
 * Takes the measurements a decision asks for (one instant query each, under the action timeout) and
 * records them; a query Prometheus cannot answer is a failed measurement with its error.
 */
export async function takeMeasurements(ctx: FlightingContext, rel: Release, a: Extract<ReleaseAction, { kind: 'measure' }>): Promise<void> {
  const url = prometheusUrl(ctx);
  const prometheus = url ? new PrometheusClient(url) : undefined;
  const timeout = ctx.options.actionTimeoutMs ?? 20_000;
  const rows = await Promise.all(a.measurements.map(async (m): Promise<Measurement> => {
    let value: number | null = null;
    let verdict: { ok: boolean; error: string | null };
    try {
      if (!prometheus) throw new Error('no Prometheus is configured (--prometheus-url or RINGMASTER_PROMETHEUS_URL)');
      value = await prometheus.value(m.query, AbortSignal.timeout(timeout));
      verdict = judge(m.threshold, value);
    } catch (err) {
      verdict = { ok: false, error: `query failed: ${(err as Error).message}` };
    }
    return { ring: a.ring, wave: a.wave, cluster: m.cluster, gate: m.gate, instance: m.instance, seq: m.seq, at: ctx.now(), value, ...verdict };
  }));
  for (const r of rows.filter((x) => !x.ok)) ctx.log.warn({ release: rel.id, cluster: r.cluster, gate: r.gate, value: r.value, error: r.error }, 'metric gate measurement failed');
  await new MeasurementStore(ctx.storage).record(rel.id, rows);
}
