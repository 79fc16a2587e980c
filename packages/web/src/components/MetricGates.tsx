import type { MetricGateView } from '@ringmaster/api';
import { when } from '../format.ts';

/** The threshold as text: "≤ 0.05", "≥ 10", "in [1, 2]". */
function thresholdText(t: MetricGateView['threshold']): string {
  if (t.min !== undefined && t.max !== undefined) return `in [${t.min}, ${t.max}]`;
  return t.max !== undefined ? `≤ ${t.max}` : `≥ ${t.min}`;
}

/** A ring's metric gates: per gate its query and threshold, and a row per measurement (cluster, value, threshold, ok). */
export function MetricGates({ ring, gates }: { ring: string; gates: MetricGateView[] }) {
  return (
    <div className="metric-gates">
      {gates.map((g) => (
        <div key={g.gate} data-testid={`metric-gate-${ring}-${g.gate}`}>
          <div><strong>Metric gate {g.gate}</strong> <code>{g.query}</code></div>
          <div className="hint">{g.count} measurements per cluster · {g.failureLimit} failed allowed · threshold {thresholdText(g.threshold)}</div>
          {g.measurements.length === 0 ? <p className="hint">No measurement yet.</p> : (
            <table className="grid">
              <thead><tr><th>Cluster</th><th>#</th><th>Value</th><th>Threshold</th><th>OK</th><th>At</th></tr></thead>
              <tbody>
                {g.measurements.map((m) => (
                  <tr key={`${m.cluster}/${m.instance ?? ''}/${m.wave}/${m.seq}`} className={m.ok ? 'st-ok' : 'st-failed'} title={m.error ?? undefined}>
                    <td>{m.cluster}{m.instance && <small> {m.instance}</small>}</td>
                    <td>{m.seq + 1}</td>
                    <td>{m.value ?? '—'}</td>
                    <td>{thresholdText(g.threshold)}</td>
                    <td>{m.ok ? 'ok' : `failed${m.error ? `: ${m.error}` : ''}`}</td>
                    <td>{when(m.at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </div>
  );
}
