import type { DoraBy, DoraSeries } from '@ringmaster/api';
import { api, query } from '../api.ts';
import { keys } from '../keys.ts';
import { useViewData } from '../query.ts';
import { Stale } from '../components/Stale.tsx';
import { duration, percent, RANGES, timeWindow } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { useQueryState } from '../navigation.ts';
import { BarChart } from '../components/Charts.tsx';
import { Filters } from '../components/Filters.tsx';

interface MetricsData {
  series: DoraSeries;
  by: DoraBy;
}

/** DORA's four keys over a chosen window, per app or team, as charts. */
export function MetricsView() {
  const [params, set] = useQueryState();
  const app = params.get('app');
  const team = params.get('team');
  const ring = params.get('ring');
  const since = params.get('since') ?? '30d';
  const by = params.get('by') === 'team' ? 'team' : 'app';
  const days = [params.get('from'), params.get('to')];
  // DORA moves only when something reaches a ring: reloaded on health events, not on every build (keys.ts)
  const key = keys.metrics({ app, team, ring, since, by, from: days[0] ?? null, to: days[1] ?? null });
  const { data, error, loadedAt, failedAt } = useViewData<MetricsData>('metrics', key, async (signal) => {
    const picked = timeWindow(params);
    const to = days.some(Boolean) && picked.to ? new Date(picked.to) : new Date();
    const from = days.some(Boolean) && picked.from ? new Date(picked.from) : new Date(to.getTime() - (RANGES[since] ?? RANGES['30d']!));
    const window = { from: from.toISOString(), to: to.toISOString(), ring };
    const [series, byData] = await Promise.all([
      api<MetricsData['series']>(`/dashboard/dora/series${query({ ...window, app, team: app ? null : team, buckets: since === '24h' ? 12 : since === '7d' ? 7 : 15 })}`, { signal }),
      api<MetricsData['by']>(`/dashboard/dora/by${query({ ...window, by })}`, { signal }),
    ]);
    return { series, by: byData };
  });
  useRenderTiming('metrics', data);
  const labels = data?.series.buckets.map((b) => new Date(b.window.from).toLocaleDateString([], { month: 'short', day: 'numeric', ...(since === '24h' ? { hour: '2-digit' } : {}) })) ?? [];
  const t = data?.series.total;
  return (
    <section aria-labelledby="metrics-title">
      <div className="title-row"><h1 id="metrics-title">Metrics</h1>{t && <p className="hint">DORA for ring {t.ring}, {new Date(t.window.from).toLocaleDateString()} – {new Date(t.window.to).toLocaleDateString()}</p>}</div>
      <Filters names={['app', 'team', 'ring', 'since', 'from', 'to']} params={params} defaults={{ since: '30d' }} set={(patch) => set({ ...patch, ...(patch.since ? { from: null, to: null } : {}) })} />
      {app && team && <p className="hint">App and team both chosen: the charts show the app.</p>}
      {error && !data && <p className="error" role="alert">{error.message}</p>}
      {data && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {!data && !error && <p className="loading" role="status">Loading metrics…</p>}
      {data && t && (
        <>
          <div className="kpis" data-testid="dora">
            <div><span>Deployment frequency</span><strong>{t.deploymentFrequency.perDay === null ? '–' : `${(Math.round(t.deploymentFrequency.perDay * 100) / 100)}/day`}</strong><small>{t.deploymentFrequency.deployments} deployments</small></div>
            <div><span>Lead time for changes</span><strong>{duration(t.leadTime.medianMs)}</strong><small>median · p90 {duration(t.leadTime.p90Ms)}</small></div>
            <div><span>Change failure rate</span><strong>{percent(t.changeFailureRate.rate)}</strong><small>{t.changeFailureRate.failed} of {t.changeFailureRate.deployments}</small></div>
            <div><span>Time to restore</span><strong>{duration(t.timeToRestore.medianMs)}</strong><small>median of {t.timeToRestore.samples}{t.timeToRestore.open ? ` · ${t.timeToRestore.open} open` : ''}</small></div>
          </div>
          <div className="charts">
            <BarChart title="Deployments" values={data.series.buckets.map((b) => b.deploymentFrequency.deployments)} labels={labels} format={(v) => (v === null ? '–' : String(v))} />
            <BarChart title="Lead time (median)" values={data.series.buckets.map((b) => b.leadTime.medianMs)} labels={labels} format={duration} color="#6b3fa0" />
            <BarChart title="Change failure rate" values={data.series.buckets.map((b) => b.changeFailureRate.rate)} labels={labels} format={percent} color="#b3261e" />
            <BarChart title="Time to restore (median)" values={data.series.buckets.map((b) => b.timeToRestore.medianMs)} labels={labels} format={duration} color="#8a5a00" />
          </div>
          <h2>Per {by}
            <button type="button" className="link" onClick={() => set({ by: by === 'app' ? 'team' : null })}>show per {by === 'app' ? 'team' : 'app'}</button>
          </h2>
          <div className="table-wrap">
            <table className="grid" data-testid="dora-by">
              <thead><tr><th scope="col">{by}</th><th scope="col">Deployments</th><th scope="col">Per day</th><th scope="col">Lead time (median / p90)</th><th scope="col">Failure rate</th><th scope="col">Time to restore</th></tr></thead>
              <tbody>
                {data.by.items.length === 0 && <tr><td colSpan={6}>Nothing reached ring {data.by.ring} in this window.</td></tr>}
                {data.by.items.map((d) => (
                  <tr key={d.app ?? d.team ?? ''} tabIndex={0}>
                    <th scope="row"><button type="button" className="link" onClick={() => set(by === 'app' ? { app: d.app, team: null } : { team: d.team, app: null })}>{d.app ?? d.team}</button></th>
                    <td>{d.deploymentFrequency.deployments}</td>
                    <td>{d.deploymentFrequency.perDay === null ? '–' : Math.round(d.deploymentFrequency.perDay * 100) / 100}</td>
                    <td>{duration(d.leadTime.medianMs)} / {duration(d.leadTime.p90Ms)}</td>
                    <td>{percent(d.changeFailureRate.rate)}</td>
                    <td>{duration(d.timeToRestore.medianMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
