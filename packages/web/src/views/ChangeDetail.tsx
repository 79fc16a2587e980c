import { useState } from 'react';
import { api, may, type ApprovalWait, type AppInfo, type ChangeDetail, type Eta, type Me } from '../api.ts';
import { useSession } from '../App.tsx';
import { keys } from '../keys.ts';
import { reloadKey, usePost, useViewData } from '../query.ts';
import { duration, percent, shortSha, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps } from '../navigation.ts';
import { useFacets } from '../components/Filters.tsx';
import { Stale } from '../components/Stale.tsx';

interface DetailData {
  change: ChangeDetail;
  eta: Eta | null;
  app: AppInfo | null;
}

const STATE_CLASS: Record<string, string> = {
  healthy: 'st-ok', synced: 'st-running', committed: 'st-running', promoted: 'st-running', promoting: 'st-running',
  planned: 'st-none', not_reached: 'st-none', waiting: 'st-waiting', degraded: 'st-failed', failed: 'st-failed', rolled_back: 'st-failed', aborted: 'st-failed', out_of_sync: 'st-waiting',
};

// Past these sizes the page shows a part and a button for the rest, so a change that reached
// thousands of clusters still renders at once.
const TARGETS_SHOWN = 100;
const TIMELINE_SHOWN = 300;

export function ChangeDetailView({ id }: { id: string }) {
  const { me } = useSession();
  // kept here, not in the panel: once approved, the wait (and its panel) goes away while the result stays
  const [approval, setApproval] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const [allRings, setAllRings] = useState<Set<string>>(new Set());
  const [allEvents, setAllEvents] = useState(false);
  const facets = useFacets();
  const { data, error, loadedAt, failedAt } = useViewData<DetailData>('change', keys.change(id), async (signal) => {
    const [change, eta, apps] = await Promise.all([
      api<ChangeDetail>(`/changes/${encodeURIComponent(id)}`, { signal }),
      api<Eta>(`/changes/${encodeURIComponent(id)}/eta`, { signal }).catch(() => null),
      api<{ apps: AppInfo[] }>('/apps', { signal }).catch(() => ({ apps: [] as AppInfo[] })),
    ]);
    return { change, eta, app: apps.apps.find((a) => a.app === change.app) ?? null };
  });
  useRenderTiming('change', data);
  if (error && !data) return <section><h1>Change {shortSha(id)}</h1><p className="error" role="alert">{error.message}</p></section>;
  if (!data) return <p className="loading" role="status">Loading change…</p>;
  const c = data.change;
  const byRing = new Map<string, typeof c.targets>();
  for (const t of c.targets) {
    const list = byRing.get(t.ring ?? '(no ring)') ?? [];
    list.push(t);
    byRing.set(t.ring ?? '(no ring)', list);
  }
  // rings in promotion order, as the server knows it
  const order = facets?.rings ?? [];
  const rank = (r: string) => (order.indexOf(r) === -1 ? order.length : order.indexOf(r));
  const ringsInOrder = [...byRing].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  const journey = journeyOf(c);
  return (
    <section aria-labelledby="change-title" className="detail">
      <p><a {...linkProps('/changes')}>← All changes</a></p>
      <h1 id="change-title">{c.title ?? shortSha(c.commit)}</h1>
      <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />
      <dl className="facts">
        <div><dt>Status</dt><dd><span className={`badge status-${c.status}`}>{c.status.replace(/_/g, ' ')}</span> (stage: {c.stage})</dd></div>
        <div><dt>App</dt><dd>{c.app ?? '–'}{c.team ? ` · team ${c.team}` : ''}</dd></div>
        <div><dt>Commit</dt><dd><code>{c.commit}</code>{c.branch ? ` on ${c.branch}` : ''}{c.repository ? ` in ${c.repository}` : ''}</dd></div>
        <div><dt>Committed</dt><dd><time dateTime={c.committedAt}>{when(c.committedAt)}</time></dd></div>
        <div><dt>Build</dt><dd>{c.buildUrl ? <a href={c.buildUrl} target="_blank" rel="noreferrer">{c.buildId}</a> : c.buildId ?? '–'}</dd></div>
        <div><dt>Image</dt><dd>{c.image ? <code>{c.image}</code> : '–'}</dd></div>
        <div><dt>Release</dt><dd>{c.release ? <a {...linkProps(`/releases/${encodeURIComponent(c.release)}`)}>{c.release}</a> : '–'}</dd></div>
      </dl>

      {c.waiting && <ApprovalWaitPanel wait={c.waiting} me={me} app={c.app} reload={() => reloadKey(keys.change(id))} onDone={(result) => {
        setApproval(result);
      }} />}
      {approval && <p className={approval.kind === 'error' ? 'error' : 'ok'} role={approval.kind === 'error' ? 'alert' : 'status'}>{approval.text}</p>}

      <h2>Journey</h2>
      <ol className="journey" data-testid="journey">
        {journey.map((j, i) => (
          <li key={j.label} className={j.at ? (j.bad ? 'st-failed' : j.partial ? 'st-running' : 'st-ok') : 'st-none'}>
            <strong>{j.label}</strong>
            <span>{j.at ? <time dateTime={j.at}>{when(j.at)}</time> : 'not yet'}</span>
            {j.at && i > 0 && journey[i - 1]!.at && <small>+{duration(Date.parse(j.at) - Date.parse(journey[i - 1]!.at!))}</small>}
          </li>
        ))}
      </ol>

      <h2>Who to contact</h2>
      <ul className="contacts" data-testid="contacts">
        <li>Author: <strong>{c.author ?? 'unknown'}</strong>{c.authorEmail && <> · <a href={`mailto:${c.authorEmail}`}>{c.authorEmail}</a></>}</li>
        {data.app?.team && <li>Team: <strong>{data.app.team}</strong></li>}
        {data.app?.contacts.map((x) => <li key={x}>Team contact: {x.includes('@') ? <a href={`mailto:${x}`}>{x}</a> : x}</li>)}
      </ul>

      {data.eta && data.eta.remaining.length > 0 && c.status === 'in_progress' && (
        <>
          <h2>Predicted arrival</h2>
          <p className="hint">From this app's past changes; success rate of similar changes: {percent(data.eta.successRate.rate)} (n={data.eta.successRate.samples}).</p>
          <ul data-testid="eta">
            {data.eta.remaining.map((r) => (
              <li key={r.ring}><strong>{r.ring}</strong>: {r.waitingFor ? <>no arrival time: nothing moves until {r.waitingFor.who} approves (waiting since <time dateTime={r.waitingFor.since}>{when(r.waitingFor.since)}</time>)</> : r.expectedAt ? <>around <time dateTime={r.expectedAt}>{when(r.expectedAt)}</time> (median {duration(r.medianMs)}, 90% within {duration(r.p90Ms)}, n={r.samples})</> : 'no history yet (n=0)'}</li>
            ))}
          </ul>
        </>
      )}

      <h2>Clusters</h2>
      {c.targets.length === 0 ? <p>No cluster targeted yet.</p> : ringsInOrder.map(([ring, targets]) => (
        <div key={ring}>
        <div className="table-wrap">
          <table className="grid">
            <caption>Ring {ring}: {targets.filter((t) => t.state === 'healthy').length}/{targets.length} healthy</caption>
            <thead><tr><th scope="col">Cluster</th><th scope="col">Instance</th><th scope="col">State</th><th scope="col">Manifest commit</th><th scope="col">Synced</th><th scope="col">Healthy</th></tr></thead>
            <tbody>
              {(allRings.has(ring) ? targets : targets.slice(0, TARGETS_SHOWN)).map((t) => (
                <tr key={`${t.cluster}/${t.instance}`}>
                  <th scope="row">{t.instance ? <a {...linkProps(`/fleet/${encodeURIComponent(t.cluster)}/${encodeURIComponent(t.instance)}`)}>{t.cluster}</a> : t.cluster}</th>
                  <td>{t.instance || '–'}</td>
                  <td className={`cell ${STATE_CLASS[t.state] ?? 'st-none'}`}>{t.state === 'waiting' && c.waiting ? 'waiting for approval' : t.state.replace(/_/g, ' ')}</td>
                  <td>{t.manifestCommit ? <code>{shortSha(t.manifestCommit)}</code> : '–'}</td>
                  <td><time dateTime={t.syncedAt ?? undefined}>{when(t.syncedAt)}</time></td>
                  <td><time dateTime={t.healthyAt ?? undefined}>{when(t.healthyAt)}</time></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {!allRings.has(ring) && targets.length > TARGETS_SHOWN && (
          <button type="button" onClick={() => setAllRings(new Set([...allRings, ring]))}>Show all {targets.length} in ring {ring}</button>
        )}
        </div>
      ))}

      <h2>Timeline</h2>
      {!allEvents && c.timeline.length > TIMELINE_SHOWN && (
        <p className="hint">{c.timeline.length} events; the per-cluster sync and health reports are summed up in the table above.{' '}
          <button type="button" className="link" onClick={() => setAllEvents(true)}>Show every event</button></p>
      )}
      <ol className="timeline" data-testid="timeline">
        {(allEvents || c.timeline.length <= TIMELINE_SHOWN ? c.timeline : c.timeline.filter((e) => e.kind !== 'sync' && e.kind !== 'health').slice(0, TIMELINE_SHOWN)).map((e) => (
          <li key={e.id} className={e.status === 'failed' || e.status === 'Degraded' ? 'bad' : undefined}>
            <time dateTime={e.occurredAt}>{when(e.occurredAt)}</time>
            <span className="kind">{e.kind}</span>
            <span>
              {e.status && <strong>{e.status} </strong>}
              {e.ring && <>ring {e.ring} </>}{e.cluster && <>on {e.cluster}{e.instance ? `/${e.instance}` : ''} </>}
              {e.buildId && <>build {e.buildId} </>}{e.image && <code>{e.image} </code>}{e.release && <>release {e.release} </>}
              {e.commit && e.kind === 'commit' && <code>{shortSha(e.commit)} </code>}
              {e.message && e.kind === 'commit' && <span className="msg">{e.message.split('\n')[0]}</span>}
              {e.url && <> <a href={e.url} target="_blank" rel="noreferrer">open</a></>}
              <small> · {e.source}</small>
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The stages of a change's journey with when each was first reached, read from its timeline. */
function journeyOf(c: ChangeDetail): Array<{ label: string; at: string | null; bad?: boolean; partial?: boolean }> {
  const first = (pred: (e: ChangeDetail['timeline'][number]) => boolean) => c.timeline.find(pred)?.occurredAt ?? null;
  const buildEnd = c.timeline.find((e) => e.kind === 'build.finished');
  const steps: Array<{ label: string; at: string | null; bad?: boolean; partial?: boolean }> = [
    { label: 'Commit', at: c.committedAt },
    { label: 'Build', at: buildEnd?.occurredAt ?? null, bad: buildEnd?.status === 'failed' },
    { label: 'Image', at: first((e) => e.kind === 'image.pushed') },
    { label: 'Fleet change', at: first((e) => e.kind === 'commit' && !!e.commit && e.commit === c.fleetRevision) },
    { label: 'Release', at: first((e) => e.kind === 'release') },
  ];
  // a ring is done only when every target there is healthy: until then it reads n/m
  for (const r of c.rings) steps.push({ label: `Ring ${r.ring} ${r.healthy}/${r.targets}`, at: r.completedAt ?? r.reachedAt, partial: !r.completedAt });
  if (c.failedAt) steps.push({ label: 'Failed', at: c.failedAt, bad: true });
  return steps;
}

/** Who must act for the change to move on, since when, and, for those who may, the button to do it (the release's approve API). */
function ApprovalWaitPanel({ wait, me, app, reload, onDone }: {
  wait: ApprovalWait; me: Me; app: string | null; reload: () => void; onDone: (result: { kind: 'error' | 'ok'; text: string }) => void;
}) {
  const { busy, post } = usePost<'approve'>(reload);
  const allowed = may(me, 'approver', { app, ring: wait.ring });
  const denied = allowed ? null : `Approving needs the approver role for ring ${wait.ring}${app ? ` and app ${app}` : ''}; you are ${me.role}${me.rings.length ? ` for ${me.rings.join(', ')}` : ''}.`;
  const approve = async () => {
    let result: { kind: 'error' | 'ok'; text: string };
    try {
      await post('approve', `/releases/${encodeURIComponent(wait.release)}/approve`, { ring: wait.ring });
      result = { kind: 'ok', text: `Ring ${wait.ring} approved.` };
    } catch (err) {
      result = { kind: 'error', text: err instanceof Error ? err.message : String(err) };
    }
    onDone(result);
  };
  return (
    <section className="approval-wait st-waiting" aria-label="Waiting for approval" data-testid="approval-wait">
      <span>Waiting since <time dateTime={wait.since} title={wait.since}>{when(wait.since)}</time> for {wait.who}: release{' '}
        <a {...linkProps(`/releases/${encodeURIComponent(wait.release)}`)}>{wait.release}</a> does not go on to ring <strong>{wait.ring}</strong> until someone approves.</span>
      <button type="button" className="primary" disabled={!allowed || busy !== null} title={denied ?? undefined} aria-describedby={denied ? 'approve-denied' : undefined}
        onClick={() => void approve()}>{busy ? 'Approving…' : `Approve ${wait.ring}`}</button>
      {denied && <span id="approve-denied" className="hint">{denied}</span>}
    </section>
  );
}
