import type { ReactNode } from 'react';
import { api, query, type Board, type BoardRow, type RingCell, type StageCell } from '../api.ts';
import { keys } from '../keys.ts';
import { useViewData } from '../query.ts';
import { between, duration, shortSha, timeWindow, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps, navigate, useQueryState } from '../navigation.ts';
import { Filters } from '../components/Filters.tsx';
import { rowKeys } from '../components/rowKeys.ts';
import { Stale } from '../components/Stale.tsx';

const STAGE_COLUMNS = [
  { key: 'build', label: 'Build' },
  { key: 'image', label: 'Image' },
  { key: 'config', label: 'Fleet change' },
  { key: 'release', label: 'Release' },
] as const;
type StageKey = (typeof STAGE_COLUMNS)[number]['key'];
const FILTERS = ['app', 'team', 'ring', 'cluster', 'author', 'branch', 'status', 'since', 'from', 'to'] as const;

export function ChangesView() {
  const [params, set] = useQueryState();
  const hidden = new Set((params.get('hide') ?? '').split(',').filter(Boolean));
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f)]));
  const cursor = params.get('cursor');
  // a live update reloads the first page only (keys.ts)
  const { data, error, loading, loadedAt, failedAt } = useViewData('changes', keys.changes(filters, cursor), (signal) => api<Board>(`/dashboard/changes${query({
    app: filters.app, team: filters.team, ring: filters.ring, cluster: filters.cluster, author: filters.author, branch: filters.branch,
    status: filters.status, ...timeWindow(params), cursor, limit: 50,
  })}`, { signal }));
  useRenderTiming('changes', data);
  // a relative range and picked days exclude each other
  const setFilter = (patch: Record<string, string | null>) => set({ ...patch, ...(patch.since ? { from: null, to: null } : {}), cursor: null });
  const toggle = (col: string) => {
    const next = new Set(hidden);
    if (next.has(col)) next.delete(col);
    else next.add(col);
    set({ hide: [...next].join(',') || null });
  };
  const rings = data?.rings ?? [];
  const stageCols = STAGE_COLUMNS.filter((c) => !hidden.has(c.key));
  const ringCols = hidden.has('rings') ? [] : rings;

  return (
    <section aria-labelledby="changes-title">
      <div className="title-row">
        <h1 id="changes-title">Changes</h1>
        <fieldset className="columns">
          <legend>Columns</legend>
          {[...STAGE_COLUMNS, { key: 'rings', label: 'Rings' }].map((c) => (
            <label key={c.key}><input type="checkbox" name={`col-${c.key}`} checked={!hidden.has(c.key)} onChange={() => toggle(c.key)} /> {c.label}</label>
          ))}
        </fieldset>
      </div>
      <Filters names={[...FILTERS]} params={params} set={setFilter} />
      {error && !data && <p className="error" role="alert">{error.message}</p>}
      {data && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {loading && !data && <p className="loading" role="status">Loading changes…</p>}
      {data && (
        <div className="table-wrap">
          <table className="board" data-testid="changes-table">
            <caption className="sr-only">One row per change, newest first; columns fill from left to right as the change travels.</caption>
            <thead>
              <tr>
                <th scope="col">Change</th>
                {stageCols.map((c) => <th scope="col" key={c.key}>{c.label}</th>)}
                {ringCols.map((r) => <th scope="col" key={r} className="ring-col">{r}</th>)}
              </tr>
            </thead>
            <tbody>
              {data.items.length === 0 && <tr><td colSpan={1 + stageCols.length + ringCols.length}>No change matches these filters.</td></tr>}
              {data.items.map((row) => (
                <ChangeRow key={row.id} row={row} stageCols={stageCols.map((c) => c.key)} rings={ringCols} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        {cursor && <button type="button" onClick={() => set({ cursor: null })}>Newest</button>}
        {data?.nextCursor && <button type="button" onClick={() => set({ cursor: data.nextCursor })}>Older changes</button>}
      </div>
    </section>
  );
}

function stageClass(c: StageCell): string {
  if (!c.startedAt && !c.finishedAt) return 'st-none';
  if (c.status === 'failed' || c.status === 'cancelled') return 'st-failed';
  if (c.status === 'running') return 'st-running';
  return 'st-ok';
}

function ChangeRow({ row, stageCols, rings }: { row: BoardRow; stageCols: StageKey[]; rings: string[] }) {
  const open = () => navigate(`/changes/${row.id}`);
  const s = row.stages;
  // each stage's duration runs from the end of the stage before it
  const prevEnd: Record<StageKey, string | null> = {
    build: s.commit.finishedAt,
    image: s.build.finishedAt ?? s.commit.finishedAt,
    config: s.image.finishedAt ?? s.build.finishedAt,
    release: s.config.finishedAt ?? s.image.finishedAt,
  };
  let prevRingAt = s.release.finishedAt ?? s.config.finishedAt;
  return (
    <tr tabIndex={0} className={`change status-${row.status}`} onKeyDown={rowKeys(open)} data-change={row.id} aria-label={`${row.title ?? row.commit} by ${row.author ?? 'unknown'}, ${row.status.replace(/_/g, ' ')}`}>
      <th scope="row" className="change-cell">
        <a {...linkProps(`/changes/${row.id}`)} className="title">{row.title ?? shortSha(row.commit)}</a>
        <div className="meta">
          <span>{row.app ?? 'unknown app'}</span> · <span>{row.author ?? 'unknown'}</span> · {row.commitUrl
            ? <a href={row.commitUrl} target="_blank" rel="noreferrer"><code>{shortSha(row.commit)}</code></a>
            : <code>{shortSha(row.commit)}</code>}
          {row.pullRequestUrl && <> · <a href={row.pullRequestUrl} target="_blank" rel="noreferrer">PR</a></>}
          {' · '}<time dateTime={row.committedAt} title={row.committedAt}>{when(row.committedAt)}</time>
          {' · '}<span className={`badge status-${row.status}`}>{row.status.replace(/_/g, ' ')}</span>
        </div>
      </th>
      {stageCols.map((k) => <StageTd key={k} stage={k} cell={s[k]} since={prevEnd[k]} />)}
      {rings.map((r) => {
        const cell = row.ringCells[r];
        const from = prevRingAt;
        if (cell?.reachedAt) prevRingAt = cell.completedAt ?? cell.reachedAt;
        return <RingTd key={r} ring={r} cell={cell} since={from} wait={row.waiting} />;
      })}
    </tr>
  );
}

function StageTd({ stage, cell, since }: { stage: StageKey; cell: StageCell; since: string | null }) {
  const cls = stageClass(cell);
  if (cls === 'st-none') return <td className="cell st-none"><span className="sr-only">not yet</span>–</td>;
  const own = between(cell.startedAt, cell.finishedAt);
  const wait = between(since, cell.startedAt);
  // image references lose their repository path; fleet commits are SHAs; build and release ids stay whole
  let label: ReactNode = cell.ref ? (stage === 'image' ? cell.ref.split('/').pop() : stage === 'config' ? shortSha(cell.ref) : cell.ref) : cell.status;
  if (cell.url) label = <a href={cell.url} target="_blank" rel="noreferrer">{label}</a>;
  return (
    <td className={`cell ${cls}`}>
      <div className="ref">{label}</div>
      <div className="times">
        <time dateTime={cell.finishedAt ?? cell.startedAt ?? undefined} title={cell.finishedAt ?? cell.startedAt ?? undefined}>{when(cell.finishedAt ?? cell.startedAt)}</time>
        {own !== null && own >= 1000 ? <span title="how long this stage took"> · {duration(own)}</span> : wait !== null && wait >= 1000 ? <span title="after the previous stage"> · +{duration(wait)}</span> : null}
        {cell.status === 'failed' && <strong> · failed</strong>}
        {cell.status === 'running' && <span> · running</span>}
      </div>
    </td>
  );
}

function ringClass(c: RingCell | undefined): string {
  if (c?.gate === 'waiting' || c?.eta?.waitingFor) return 'st-waiting';
  if (!c || c.targets === 0) return c?.eta ? 'st-eta' : 'st-none';
  if (c.failed > 0 || c.gate === 'failed') return 'st-failed';
  if (c.healthy === c.targets) return 'st-ok';
  // nothing there moves any more: a halted release left it; grey, not the blue of "in progress"
  if (c.notReached > 0 && c.healthy + c.failed + c.notReached === c.targets) return 'st-none';
  if (c.waiting > 0) return 'st-waiting';
  return 'st-running';
}

/** One ring of one change: n/m healthy, what holds it (an approver, a halt), when it arrived or should. */
function RingTd({ ring, cell, since, wait }: { ring: string; cell: RingCell | undefined; since: string | null; wait: BoardRow['waiting'] }) {
  const cls = ringClass(cell);
  if (!cell) return <td className="cell st-none"><span className="sr-only">{ring}: not planned</span>–</td>;
  const eta = cell.eta;
  const notReached = cell.notReached > 0 && cell.healthy === 0 && cell.failed === 0;
  return (
    <td className={`cell ${cls}`} data-ring={ring}>
      {cell.targets > 0 && !notReached && (
        <div className="counts">
          <span title="clusters synced / targeted">{cell.synced}/{cell.targets} synced</span>
          <span title="clusters healthy / targeted">{cell.healthy}/{cell.targets} healthy</span>
          {cell.failed > 0 && <strong>{cell.failed} failed{cell.rolledBack > 0 ? `, ${cell.rolledBack} rolled back` : ''}</strong>}
          {cell.waiting > 0 && <span>{cell.waiting} waiting</span>}
          {cell.notReached > 0 && <span>{cell.notReached} not reached</span>}
        </div>
      )}
      {notReached && <div><strong>not reached</strong> <small>({cell.notReached}/{cell.targets})</small></div>}
      {wait && wait.ring === ring && (
        <div><strong>waiting for approval</strong> since <time dateTime={wait.since} title={wait.since}>{when(wait.since)}</time> · needs {wait.who}</div>
      )}
      {cell.gate === 'waiting' && wait?.ring !== ring && <div><strong>waiting for approval</strong></div>}
      {cell.gate === 'failed' && cell.failed === 0 && <div><strong>halted</strong></div>}
      {cell.reachedAt && (
        <div className="times">
          <time dateTime={cell.reachedAt} title={cell.reachedAt}>{when(cell.reachedAt)}</time>
          {since && between(since, cell.reachedAt)! > 0 && <span title="from the previous stage to the first healthy cluster"> · +{duration(between(since, cell.reachedAt))}</span>}
        </div>
      )}
      {eta && !cell.reachedAt && (eta.waitingFor ? (
        <div className="eta">no ETA: waits for {eta.waitingFor.who}</div>
      ) : (
        <div className="eta" title={eta.expectedAtP90 ? `90% by ${eta.expectedAtP90}` : undefined}>
          {eta.expectedAt
            ? <>ETA <time dateTime={eta.expectedAt}>{when(eta.expectedAt)}</time>{Date.parse(eta.expectedAt) < Date.now() && <strong> overdue</strong>} <small>(n={eta.samples})</small></>
            : <small>no history (n=0)</small>}
        </div>
      ))}
    </td>
  );
}
