import type { FleetInstance } from '@ringmaster/api';
import { api, query } from '../api.ts';
import { keys } from '../keys.ts';
import { useViewData } from '../query.ts';
import { shortSha, versionOf, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps } from '../navigation.ts';
import { Stale } from '../components/Stale.tsx';
import { DriftPanel } from '../components/DriftPanel.tsx';
import { NodesPanel } from '../components/NodesPanel.tsx';

export type { FleetInstance };

/** One instance on one cluster: what runs there now, and the change that brought it. */
export function InstanceView({ cluster, instance }: { cluster: string; instance: string }) {
  const { data, error, loadedAt, failedAt } = useViewData('instance', keys.instance(cluster, instance), async (signal) => {
    const page = await api<{ items: FleetInstance[] }>(`/fleet${query({ cluster, limit: 1000 })}`, { signal });
    return page.items.find((i) => i.instance === instance) ?? null;
  });
  useRenderTiming('instance', data);
  return (
    <section aria-labelledby="instance-title" className="detail">
      <p><a {...linkProps('/fleet')}>← Fleet</a> · <a {...linkProps(`/fleet/${encodeURIComponent(cluster)}`)}>cluster {cluster}</a></p>
      <h1 id="instance-title">{instance} on {cluster}</h1>
      {error && data === undefined && <p className="error" role="alert">{error.message}</p>}
      {data !== undefined && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {data === null && <p>No instance {instance} is known on cluster {cluster}.</p>}
      {data && (
        <dl className="facts" data-testid="instance">
          <div><dt>App</dt><dd>{data.app ?? '–'}</dd></div>
          <div><dt>Ring</dt><dd>{data.ring ?? '–'}</dd></div>
          <div><dt>Release</dt><dd>{data.release ? <a {...linkProps(`/releases/${encodeURIComponent(data.release)}`)}>{data.release}</a> : '–'}</dd></div>
          <div><dt>Version</dt><dd>{data.image ? versionOf(data.image) : '–'}</dd></div>
          {/* the server takes it from this instance's rendered objects (a region may use its own registry) */}
          <div><dt>Image</dt><dd data-testid="instance-image">{data.image ? <code>{data.image}</code> : '–'}</dd></div>
          <div><dt>Manifest revision</dt><dd>{data.revision ? <code>{shortSha(data.revision)}</code> : '–'}</dd></div>
          <div><dt>Sync</dt><dd>{data.sync ?? '–'}{data.sync === 'OutOfSync' && <strong className="drift"> ⚠ drift: live state differs from Git</strong>}</dd></div>
          <div><dt>Health</dt><dd>{data.health ?? '–'}</dd></div>
          <div><dt>Change</dt><dd>{data.change ? <a {...linkProps(`/changes/${data.change}`)}>{shortSha(data.change)}</a> : '–'}</dd></div>
          <div><dt>Updated</dt><dd><time dateTime={data.updatedAt}>{when(data.updatedAt)}</time></dd></div>
        </dl>
      )}
      {data && <DriftPanel cluster={cluster} instance={instance} />}
      {data && <NodesPanel cluster={cluster} instance={instance} />}
    </section>
  );
}
