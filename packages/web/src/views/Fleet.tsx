import { Fragment } from 'react';
import { api, query, type FleetCell, type FleetMatrix } from '../api.ts';
import { useSession } from '../App.tsx';
import { useData } from '../data.ts';
import { shortSha, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps, useQueryState } from '../router.ts';
import { Filters } from './Filters.tsx';
import { rowKeys } from './Changes.tsx';

// 50 clusters × their instances (about 1,000 cells at 20 instances a cluster) render in a few tens of ms
const PAGE = 50;
const FILTERS = ['ring', 'region', 'app', 'cluster', 'health'] as const;
const numbers = new Intl.NumberFormat();
const count = (n: number) => numbers.format(n);

function healthClass(c: FleetCell): string {
  if (c.health === 'Degraded' || c.health === 'Missing') return 'st-failed';
  if (c.drift || c.sync === 'OutOfSync') return 'st-waiting';
  if (c.health === 'Healthy' && c.sync === 'Synced') return 'st-ok';
  if (c.health === 'Healthy') return 'st-ok';
  return 'st-running';
}

/** Instances × clusters, grouped by ring and region; the server sends one page of clusters at a time. */
export function FleetView() {
  const { live } = useSession();
  const [params, set] = useQueryState();
  const page = Math.max(0, Number(params.get('page') ?? '0') || 0);
  const drift = params.get('drift') === 'true';
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f)]));
  const key = JSON.stringify([filters, page, drift]);
  const { data, error, loading } = useData('fleet', key, live?.clusters.length ? live : null, (signal) => api<FleetMatrix>(`/dashboard/fleet${query({
    ...filters, drift: drift ? 'true' : undefined, offset: page * PAGE, limit: PAGE,
  })}`, { signal }));
  useRenderTiming('fleet', data);
  const setFilter = (patch: Record<string, string | null>) => set({ ...patch, page: null });
  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE)) : 1;
  const instances = data?.instances ?? [];
  const groupOf = (ring: string | null, region: string | null) => data?.groups.find((g) => g.ring === ring && g.region === region);

  return (
    <section aria-labelledby="fleet-title">
      <div className="title-row"><h1 id="fleet-title">Fleet</h1>
        {data && <p className="hint">{count(data.total)} clusters · {count(data.groups.reduce((n, g) => n + g.instances, 0))} instances · {count(data.groups.reduce((n, g) => n + g.healthy, 0))} healthy · {count(data.groups.reduce((n, g) => n + g.drifted, 0))} drifted</p>}
      </div>
      <Filters names={[...FILTERS]} params={params} set={setFilter} />
      <label className="inline"><input type="checkbox" name="drift" checked={drift} onChange={(e) => setFilter({ drift: e.target.checked ? 'true' : null })} /> Only clusters with drift</label>
      {error && <p className="error" role="alert">{error.message}</p>}
      {loading && !data && <p className="loading" role="status">Loading the fleet…</p>}
      {data && (
        <div className="table-wrap matrix-wrap">
          <table className="matrix" data-testid="fleet-matrix">
            <caption className="sr-only">Rows are clusters grouped by ring and region; columns are instances.</caption>
            <thead>
              <tr>
                <th scope="col">Cluster</th>
                {instances.map((i) => <th scope="col" key={i.instance} title={i.app ? `app ${i.app}` : undefined}>{i.instance}</th>)}
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
                        <th scope="rowgroup" colSpan={1 + instances.length}>
                          Ring <strong>{c.ring ?? '–'}</strong> · region <strong>{c.region ?? 'unknown'}</strong>
                          {g && <span className="hint"> — {g.clusters} clusters, {g.healthy}/{g.instances} healthy, {g.synced}/{g.instances} synced{g.drifted ? `, ${g.drifted} drifted` : ''}</span>}
                        </th>
                      </tr>
                    )}
                    <tr tabIndex={0} onKeyDown={rowKeys(() => document.querySelector<HTMLElement>(`tr[data-cluster="${CSS.escape(c.cluster)}"] a`)?.focus())} data-cluster={c.cluster}>
                      <th scope="row">{c.cluster}<div className="meta">{c.healthy}/{c.instances} healthy{c.drifted ? ` · ${c.drifted} drift` : ''}</div></th>
                      {instances.map((i) => {
                        const cell = c.cells[i.instance];
                        if (!cell) return <td key={i.instance} className="cell st-none"><span className="sr-only">not on this cluster</span></td>;
                        return (
                          <td key={i.instance} className={`cell ${healthClass(cell)}`}>
                            <a {...linkProps(`/fleet/${encodeURIComponent(c.cluster)}/${encodeURIComponent(i.instance)}`)}
                              aria-label={`${i.instance} on ${c.cluster}: ${cell.release ?? 'no release'}, ${cell.sync ?? 'sync unknown'}, ${cell.health ?? 'health unknown'}${cell.drift ? ', drift' : ''}`}>
                              <span className="ref">{cell.release ?? (cell.image ? cell.image.split(':').pop() : shortSha(cell.revision))}</span>
                              <span className="flags">{cell.sync === 'Synced' ? '✓' : cell.sync === 'OutOfSync' ? '≠' : '?'} {cell.health ?? '?'}{cell.drift && <strong className="drift"> ⚠ drift</strong>}</span>
                            </a>
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
