import { Fragment } from 'react';
import { api, query, type FleetAppCell, type FleetCell, type FleetMatrix } from '../api.ts';
import { keys } from '../keys.ts';
import { useViewData } from '../query.ts';
import { shortSha, versionOf, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps, useQueryState } from '../navigation.ts';
import { Filters } from '../components/Filters.tsx';
import { rowKeys } from '../components/rowKeys.ts';
import { Stale } from '../components/Stale.tsx';

// 50 clusters × their instances (about 1,000 instances at 20 a cluster) render in a few tens of ms
const PAGE = 50;
const FILTERS = ['ring', 'region', 'app', 'cluster', 'health'] as const;
const numbers = new Intl.NumberFormat();
const count = (n: number) => numbers.format(n);

function healthClass(c: FleetCell): string {
  if (c.health === 'Degraded' || c.health === 'Missing') return 'st-failed';
  if (c.drift || c.sync === 'OutOfSync') return 'st-waiting';
  if (c.health === 'Healthy') return 'st-ok';
  return 'st-running';
}

/** A cell's colour is its worst instance's. */
function cellClass(cell: FleetAppCell): string {
  if (cell.degraded > 0) return 'st-failed';
  if (cell.drifted > 0) return 'st-waiting';
  const n = cell.instances.length + cell.more;
  if (cell.healthy === n) return 'st-ok';
  return cell.instances.some((i) => healthClass(i) === 'st-failed') ? 'st-failed' : 'st-running';
}

/** Clusters × apps (each cell lists the app's instances there), grouped by ring and region; one page of clusters at a time. */
export function FleetView() {
  const [params, set] = useQueryState();
  const page = Math.max(0, Number(params.get('page') ?? '0') || 0);
  const drift = params.get('drift') === 'true';
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f)]));
  const { data, error, loading, loadedAt, failedAt } = useViewData('fleet', keys.fleet(filters, page, drift), (signal) => api<FleetMatrix>(`/dashboard/fleet${query({
    ...filters, drift: drift ? 'true' : undefined, offset: page * PAGE, limit: PAGE,
  })}`, { signal }));
  useRenderTiming('fleet', data);
  const setFilter = (patch: Record<string, string | null>) => set({ ...patch, page: null });
  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE)) : 1;
  const apps = data?.apps ?? [];
  const groupOf = (ring: string | null, region: string | null) => data?.groups.find((g) => g.ring === ring && g.region === region);

  return (
    <section aria-labelledby="fleet-title">
      <div className="title-row"><h1 id="fleet-title">Fleet</h1>
        {data && <p className="hint">{count(data.total)} clusters · {count(data.groups.reduce((n, g) => n + g.instances, 0))} instances · {count(data.groups.reduce((n, g) => n + g.healthy, 0))} healthy · {count(data.groups.reduce((n, g) => n + g.drifted, 0))} drifted</p>}
      </div>
      <Filters names={[...FILTERS]} params={params} set={setFilter} />
      <label className="inline"><input type="checkbox" name="drift" checked={drift} onChange={(e) => setFilter({ drift: e.target.checked ? 'true' : null })} /> Only clusters with drift</label>
      {error && !data && <p className="error" role="alert">{error.message}</p>}
      {data && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {loading && !data && <p className="loading" role="status">Loading the fleet…</p>}
      {data && (
        <div className="table-wrap matrix-wrap">
          <table className="matrix" data-testid="fleet-matrix">
            <caption className="sr-only">Rows are clusters grouped by ring and region; columns are apps; each cell lists that app's instances on the cluster.</caption>
            <thead>
              <tr>
                <th scope="col">Cluster</th>
                {apps.map((a) => <th scope="col" key={a.app}>{a.app || 'unknown app'}<div className="meta">{count(a.instances)} on {count(a.clusters)} clusters</div></th>)}
              </tr>
            </thead>
            <tbody>
              {data.clusters.map((c, idx) => {
                const prev = data.clusters[idx - 1];
                const newGroup = !prev || prev.ring !== c.ring || prev.region !== c.region;
                const g = newGroup ? groupOf(c.ring, c.region) : undefined;
                return (
                  <Fragment key={c.cluster}>
                    {newGroup && (
                      <tr className="group">
                        <th scope="rowgroup" colSpan={1 + apps.length}>
                          Ring <strong>{c.ring ?? '–'}</strong> · region <strong>{c.region ?? 'unknown'}</strong>
                          {g && <span className="hint"> — {g.clusters} clusters, {g.healthy}/{g.instances} healthy, {g.synced}/{g.instances} synced{g.drifted ? `, ${g.drifted} drifted` : ''}</span>}
                        </th>
                      </tr>
                    )}
                    <tr tabIndex={0} onKeyDown={rowKeys(() => document.querySelector<HTMLElement>(`tr[data-cluster="${CSS.escape(c.cluster)}"] a`)?.focus())} data-cluster={c.cluster}>
                      <th scope="row"><a {...linkProps(`/fleet/${encodeURIComponent(c.cluster)}`)}>{c.cluster}</a><div className="meta">{c.healthy}/{c.instances} healthy{c.drifted ? ` · ${c.drifted} drift` : ''}</div></th>
                      {apps.map((a) => {
                        const cell = c.cells[a.app];
                        if (!cell) return <td key={a.app} className="cell st-none"><span className="sr-only">{a.app} not on this cluster</span></td>;
                        return (
                          <td key={a.app} className={`cell ${cellClass(cell)}`}>
                            <ul>
                              {cell.instances.map((i) => (
                                <li key={i.instance}>
                                  <a {...linkProps(`/fleet/${encodeURIComponent(c.cluster)}/${encodeURIComponent(i.instance)}`)}
                                    title={[i.image, i.release && `release ${i.release}`].filter(Boolean).join(' · ') || undefined}
                                    aria-label={`${i.instance} on ${c.cluster}: ${i.image ? `version ${versionOf(i.image)}` : 'version unknown'}${i.release ? ` (release ${i.release})` : ''}, ${i.sync ?? 'sync unknown'}, ${i.health ?? 'health unknown'}${i.drift ? ', drift' : ''}`}>
                                    <span className="inst">{i.instance}</span>{' '}
                                    <span className="flags">{i.sync === 'Synced' ? '✓' : i.sync === 'OutOfSync' ? '≠' : '?'} {i.health ?? '?'}{i.drift && <strong className="drift"> ⚠ drift</strong>}</span>
                                    {/* the version that runs, so mixed versions across a ring show; the release is in the tooltip */}
                                    <span className="ref" data-testid="version">{i.image ? versionOf(i.image) : i.release ?? shortSha(i.revision)}</span>
                                  </a>
                                </li>
                              ))}
                            </ul>
                            {cell.more > 0 && <a className="more" {...linkProps(`/fleet/${encodeURIComponent(c.cluster)}?app=${encodeURIComponent(a.app)}`)}>+{cell.more} more</a>}
                          </td>
                        );
                      })}
                    </tr>
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data && data.total > PAGE && (
        <nav className="pager" aria-label="Fleet pages">
          <button type="button" disabled={page === 0} onClick={() => set({ page: page - 1 > 0 ? String(page - 1) : null })}>Previous clusters</button>
          <span>Page {page + 1} of {pages} (clusters {page * PAGE + 1}–{Math.min(data.total, (page + 1) * PAGE)} of {data.total})</span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => set({ page: String(page + 1) })}>Next clusters</button>
        </nav>
      )}
      {data && <p className="hint">As of {when(new Date().toISOString())}; updates arrive live.</p>}
    </section>
  );
}
