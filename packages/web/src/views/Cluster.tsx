import { api, query } from '../api.ts';
import { keys } from '../keys.ts';
import { useViewData } from '../query.ts';
import { shortSha, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps, navigate, useQueryState } from '../navigation.ts';
import { rowKeys } from '../components/rowKeys.ts';
import type { FleetInstance } from './Instance.tsx';
import { Stale } from '../components/Stale.tsx';

const PAGE = 200;

/** Every instance on one cluster (optionally of one app), a page at a time. */
export function ClusterView({ cluster }: { cluster: string }) {
  const [params, set] = useQueryState();
  const app = params.get('app');
  const cursor = params.get('cursor');
  const { data, error, loadedAt, failedAt } = useViewData('cluster', keys.cluster(cluster, app, cursor),
    (signal) => api<{ items: FleetInstance[]; nextCursor: string | null }>(`/fleet${query({ cluster, app, cursor, limit: PAGE })}`, { signal }));
  useRenderTiming('cluster', data);
  return (
    <section aria-labelledby="cluster-title" className="detail">
      <p><a {...linkProps('/fleet')}>← Fleet</a></p>
      <h1 id="cluster-title">Cluster {cluster}{app ? ` · app ${app}` : ''}</h1>
      {app && <p><button type="button" className="link" onClick={() => set({ app: null, cursor: null })}>Show every app</button></p>}
      {error && !data && <p className="error" role="alert">{error.message}</p>}
      {data && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {!data && !error && <p className="loading" role="status">Loading instances…</p>}
      {data && (
        <div className="table-wrap">
          <table className="grid" data-testid="cluster">
            <thead><tr><th scope="col">Instance</th><th scope="col">App</th><th scope="col">Ring</th><th scope="col">Release</th><th scope="col">Image</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Change</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {data.items.length === 0 && <tr><td colSpan={9}>No instance known on this cluster.</td></tr>}
              {data.items.map((i) => (
                <tr key={i.instance} tabIndex={0} onKeyDown={rowKeys(() => navigate(`/fleet/${encodeURIComponent(cluster)}/${encodeURIComponent(i.instance)}`))}>
                  <th scope="row"><a {...linkProps(`/fleet/${encodeURIComponent(cluster)}/${encodeURIComponent(i.instance)}`)}>{i.instance}</a></th>
                  <td>{i.app ?? '–'}</td>
                  <td>{i.ring ?? '–'}</td>
                  <td>{i.release ?? '–'}</td>
                  <td>{i.image ? <code>{i.image}</code> : '–'}</td>
                  <td className={i.sync === 'OutOfSync' ? 'cell st-waiting' : undefined}>{i.sync ?? '–'}{i.sync === 'OutOfSync' && <strong className="drift"> ⚠ drift</strong>}</td>
                  <td className={i.health === 'Degraded' ? 'cell st-failed' : i.health === 'Healthy' ? 'cell st-ok' : undefined}>{i.health ?? '–'}</td>
                  <td>{i.change ? <a {...linkProps(`/changes/${i.change}`)}>{shortSha(i.change)}</a> : '–'}</td>
                  <td><time dateTime={i.updatedAt}>{when(i.updatedAt)}</time></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        {cursor && <button type="button" onClick={() => set({ cursor: null })}>First instances</button>}
        {data?.nextCursor && <button type="button" onClick={() => set({ cursor: data.nextCursor })}>Next instances</button>}
      </div>
    </section>
  );
}
