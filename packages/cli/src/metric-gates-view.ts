import type { ReleaseView } from '@ringmaster/api';
import { table } from './output.ts';

type Threshold = { min?: number; max?: number };

/** The threshold as text: "<= 0.05", ">= 10", "in [1, 2]". */
export function thresholdWords(t: Threshold): string {
  if (t.min !== undefined && t.max !== undefined) return `in [${t.min}, ${t.max}]`;
  return t.max !== undefined ? `<= ${t.max}` : `>= ${t.min}`;
}

/** The metric gates of a release's rings with their measurements (empty when no ring has gates). */
export function formatMetricGates(rel: ReleaseView): string {
  const parts: string[] = [];
  for (const r of rel.rings) {
    for (const g of r.metrics ?? []) {
      const head = `metric gate ${g.gate} of ring ${r.ring}: ${g.query}  (threshold ${thresholdWords(g.threshold)}, ${g.count} measurements, failureLimit ${g.failureLimit})`;
      const rows = g.measurements.map((m) => [m.cluster + (m.instance ? `/${m.instance}` : ''), String(m.wave + 1), String(m.seq + 1), m.value === null ? '-' : String(m.value), m.ok ? 'ok' : 'FAILED', m.at, (m.error ?? '').slice(0, 80)]);
      parts.push(head + '\n' + (rows.length ? table(['CLUSTER', 'WAVE', '#', 'VALUE', 'OK', 'AT', 'ERROR'], rows) : '(no measurement yet)'));
    }
  }
  return parts.length ? '\n\n' + parts.join('\n\n') : '';
}
