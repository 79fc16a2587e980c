import { z } from 'zod';

/** A metric gate of a ring policy with its defaults filled in, as the engine applies it. */
export const resolvedMetricGate = z.object({
  name: z.string(),
  query: z.string().describe('the PromQL query as written in the fleet, placeholders unfilled'),
  threshold: z.object({ min: z.number().optional(), max: z.number().optional() }),
  intervalMs: z.number().describe('time between two measurements of a cluster (before the time scale)'),
  count: z.number().describe('measurements per cluster before the gate holds'),
  failureLimit: z.number().describe('failed measurements allowed per cluster'),
});
export type ResolvedMetricGate = z.infer<typeof resolvedMetricGate>;

/** One measurement of a metric gate on one cluster (and instance, when the query names one). */
export const metricMeasurementView = z.object({
  cluster: z.string(),
  instance: z.string().nullable().describe('the instance measured, when the query uses {{instance}} or {{app}}'),
  wave: z.number(),
  seq: z.number().describe('0 for the first measurement of this cluster'),
  at: z.string(),
  value: z.number().nullable().describe('null: the query answered nothing, or failed (see error)'),
  ok: z.boolean(),
  error: z.string().nullable().describe('why the measurement failed: outside the threshold, an empty result, or Prometheus\'s error'),
});
export type MetricMeasurementView = z.infer<typeof metricMeasurementView>;

/** A metric gate of a ring and what it measured so far. */
export const metricGateView = z.object({
  gate: z.string(),
  query: z.string(),
  threshold: z.object({ min: z.number().optional(), max: z.number().optional() }),
  count: z.number(),
  failureLimit: z.number(),
  measurements: z.array(metricMeasurementView),
});
export type MetricGateView = z.infer<typeof metricGateView>;
