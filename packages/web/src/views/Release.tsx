import { useEffect, useState } from 'react';
import { TERMINAL_STATES, type ReleaseListItem, type ReleaseView } from '@ringmaster/api';
import { api, ApiError, may, query, type Me } from '../api.ts';
import { useSession } from '../App.tsx';
import { keys } from '../keys.ts';
import { reloadKey, usePost, useViewData } from '../query.ts';
import { duration, shortSha, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps, navigate, useQueryState } from '../navigation.ts';
import { rowKeys } from '../components/rowKeys.ts';
import { Stale } from '../components/Stale.tsx';
import { label, StateBadge } from '../components/StateBadge.tsx';
import { MetricGates } from '../components/MetricGates.tsx';
import { ConcurrencyNote } from '../components/Concurrency.tsx';

type Release = ReleaseView;

const STATE_CLASS: Record<string, string> = {
  succeeded: 'st-ok', in_progress: 'st-running', soaking: 'st-running', pending: 'st-none', queued: 'st-waiting', waiting_for_approval: 'st-waiting',
  paused: 'st-waiting', failed: 'st-failed', halted: 'st-failed', aborted: 'st-failed', rolled_back: 'st-failed',
};
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);
// words for parts of a finished release (not release states, so not in the state filter)
const SHOWN_CLASS: Record<string, string> = { ...STATE_CLASS, not_reached: 'st-none', stopped: 'st-failed' };

/** Once a release has ended, its rings, waves and clusters that never ran or were cut short say so, not "pending" or "in progress". */
function settled(state: string, finished: boolean): string {
  if (!finished) return state;
  if (state === 'pending' || state === 'waiting_for_approval') return 'not_reached';
  if (state === 'in_progress' || state === 'soaking') return 'stopped';
  return state;
}

function State({ state }: { state: string }) {
  return <StateBadge state={state} classes={SHOWN_CLASS} />;
}

/** Ticks every second while something on the page counts down. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function Countdown({ until, now, what }: { until: string | null | undefined; now: number; what: string }) {
  if (!until) return null;
  const left = Date.parse(until) - now;
  return <span className="timer" title={until}>{what} {left > 0 ? `in ${duration(left)}` : `due ${duration(-left)} ago`}</span>;
}

export function ReleasesView() {
  const [params, set] = useQueryState();
  const state = params.get('state');
  const before = params.get('before');
  const { data, error, loadedAt, failedAt } = useViewData('releases', keys.releases(state, before),
    (signal) => api<{ releases: ReleaseListItem[]; nextBefore: number | null }>(`/releases${query({ state, before, limit: 50 })}`, { signal }));
  useRenderTiming('releases', data);
  return (
    <section aria-labelledby="releases-title">
      <h1 id="releases-title">Releases</h1>
      <form className="filters" role="search" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="filter-state"><span>State</span>
          <select id="filter-state" value={state ?? ''} onChange={(e) => set({ state: e.target.value || null, before: null })}>
            <option value="">any</option>
            {Object.keys(STATE_CLASS).map((s) => <option key={s} value={s}>{label(s)}</option>)}
          </select>
        </label>
      </form>
      {data && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {error && !data && <p className="error" role="alert">{error instanceof ApiError && error.status === 404 ? `Releases are not available: ${error.message}` : error.message}</p>}
      {!data && !error && <p className="loading" role="status">Loading releases…</p>}
      {data && (
        <div className="table-wrap">
          <table className="grid" data-testid="releases">
            <thead><tr><th scope="col">Release</th><th scope="col">State</th><th scope="col">Revision</th><th scope="col">Image</th><th scope="col">Apps</th><th scope="col">Clusters</th><th scope="col">By</th><th scope="col">Created</th><th scope="col">Took</th></tr></thead>
            <tbody>
              {data.releases.length === 0 && <tr><td colSpan={9}>No release yet. Create one with <code>ringmaster release create</code>.</td></tr>}
              {data.releases.map((r) => (
                <tr key={r.id} tabIndex={0} data-release={r.id} onKeyDown={rowKeys(() => navigate(`/releases/${encodeURIComponent(r.id)}`))}>
                  <th scope="row"><a {...linkProps(`/releases/${encodeURIComponent(r.id)}`)}>{r.id}</a></th>
                  <td><State state={r.paused ? 'paused' : r.state} />{r.phase === 'rollback' && <small> (rollback)</small>} <ConcurrencyNote rel={r} /></td>
                  <td><code>{shortSha(r.revision)}</code></td>
                  <td>{r.image ? <code>{r.image.image}</code> : '–'}</td>
                  <td>{r.summary.apps.join(', ')}</td>
                  <td>{r.summary.clusters}</td>
                  <td>{r.createdBy}</td>
                  <td><time dateTime={r.createdAt}>{when(r.createdAt)}</time></td>
                  <td>{r.finishedAt ? duration(Date.parse(r.finishedAt) - Date.parse(r.createdAt)) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data?.nextBefore && <div className="pager"><button type="button" onClick={() => set({ before: String(data.nextBefore) })}>Older releases</button></div>}
    </section>
  );
}

/** Why a button is disabled, said next to it (and to screen readers). */
function denial(me: Me, role: 'deployer' | 'approver', scope: { ring?: string; apps: string[] }): string | null {
  const allowed = scope.apps.length === 0 ? may(me, role, { ring: scope.ring }) : scope.apps.every((app) => may(me, role, { app, ring: scope.ring }));
  return allowed ? null : `needs the ${role} role${scope.ring ? ` for ring ${scope.ring}` : ''}${scope.apps.length ? ` and app ${scope.apps.join(', ')}` : ''}; you are ${me.role}`;
}

export function ReleaseView({ id }: { id: string }) {
  const { me } = useSession();
  const { busy, post } = usePost<string>(() => reloadKey(keys.release(id)));
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  // the engine moves on its own between events (soak ends, deadlines): look again every few seconds while active
  const { data: rel, error, loadedAt, failedAt } = useViewData<Release>('release', keys.release(id), (signal) => api<Release>(`/releases/${encodeURIComponent(id)}`, { signal }),
    { refetchInterval: (r) => (r && !TERMINAL.has(r.state) ? 5000 : false) });
  useRenderTiming('release', rel);
  const active = !!rel && !TERMINAL.has(rel.state);
  const now = useNow(active);

  if (error && !rel) return <section><h1>Release {id}</h1><p className="error" role="alert">{error.message}</p></section>;
  if (!rel) return <p className="loading" role="status">Loading release…</p>;

  const act = async (action: string, body: Record<string, unknown> = {}) => {
    setMessage(null);
    try {
      await post(action, `/releases/${encodeURIComponent(id)}/${action}`, body);
      setMessage({ kind: 'ok', text: `${action === 'approve' ? `Ring ${String(body.ring)} approved` : `${action} requested`}.` });
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
    }
  };
  const confirmThen = (action: string, question: string) => {
    const reason = window.prompt(`${question}\nReason (optional):`);
    if (reason === null) return;
    void act(action, reason ? { reason } : {});
  };
  const deployDenied = denial(me, 'deployer', { apps: rel.summary.apps });
  const finished = TERMINAL.has(rel.state);
  const actions = [
    { key: 'pause', text: 'Pause', show: !finished && !rel.paused && rel.phase === 'rollout', run: () => void act('pause') },
    { key: 'resume', text: 'Resume', show: !finished && rel.paused, run: () => void act('resume') },
    { key: 'abort', text: 'Abort', show: !finished, danger: true, run: () => confirmThen('abort', `Abort ${rel.id}? Clusters not yet reached stay as they are.`) },
    { key: 'rollback', text: 'Roll back', show: rel.phase === 'rollout' && rel.state !== 'rolled_back', danger: true, run: () => confirmThen('rollback', `Roll back ${rel.id} on every cluster it wrote to?`) },
  ].filter((a) => a.show);

  return (
    <section aria-labelledby="release-title" className="detail">
      <p><a {...linkProps('/releases')}>← All releases</a></p>
      <div className="title-row">
        <h1 id="release-title">Release {rel.id}</h1>
        <State state={rel.paused ? 'paused' : rel.state} />
        {rel.phase === 'rollback' && !finished && <span className="state st-failed">rolling back</span>}
        <ConcurrencyNote rel={rel} />
      </div>
      <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />
      <dl className="facts">
        <div><dt>Revision</dt><dd><code>{rel.revision}</code></dd></div>
        <div><dt>Image</dt><dd>{rel.image ? <code>{rel.image.app}: {rel.image.image}</code> : '–'}</dd></div>
        <div><dt>Created</dt><dd>{when(rel.createdAt)} by {rel.createdBy}</dd></div>
        <div><dt>Changes</dt><dd>{rel.summary.instances} instances on {rel.summary.clusters} clusters ({rel.summary.actions.create} new, {rel.summary.actions.update} updated, {rel.summary.actions.delete} removed)</dd></div>
        <div><dt>Progress</dt><dd data-testid="progress">{rel.progress.succeeded}/{rel.progress.clusters} clusters done · {rel.progress.inFlight} in flight · {rel.progress.pending} pending{rel.progress.failed ? ` · ${rel.progress.failed} failed` : ''}</dd></div>
        {rel.message && <div><dt>Message</dt><dd>{rel.message}</dd></div>}
        {rel.reason && <div><dt>Reason</dt><dd>{rel.reason}</dd></div>}
        {(rel.overrides ?? []).map((o, i) => <div key={`override-${i}`}><dt>Override</dt><dd>passes the {o.gate}: <strong>{o.actor}</strong> {when(o.at)} — {o.reason}</dd></div>)}
      </dl>
      {actions.length > 0 && (
        <div className="actions" role="group" aria-label="Release actions">
          {actions.map((a) => (
            <button key={a.key} type="button" className={a.danger ? 'danger' : undefined} disabled={!!deployDenied || busy !== null}
              title={deployDenied ?? undefined} aria-describedby={deployDenied ? 'deploy-denied' : undefined} onClick={a.run}>{busy === a.key ? `${a.text}…` : a.text}</button>
          ))}
          {deployDenied && <span id="deploy-denied" className="hint">Actions {deployDenied}.</span>}
        </div>
      )}
      {message && <p className={message.kind === 'error' ? 'error' : 'ok'} role={message.kind === 'error' ? 'alert' : 'status'}>{message.text}</p>}

      <div className="release-rings">
        {rel.rings.map((ring) => {
          const approveDenied = denial(me, 'approver', { ring: ring.ring, apps: rel.summary.apps });
          const canApprove = ring.approval.required && !ring.approval.approvedBy && !TERMINAL.has(ring.state) && !finished;
          return (
            <article key={ring.ring} className="ring-card" data-ring={ring.ring} aria-labelledby={`ring-${ring.ring}`}>
              <header>
                <h2 id={`ring-${ring.ring}`}>Ring {ring.ring}</h2>
                <State state={settled(ring.state, finished)} />
                {ring.gate?.kind === 'approval' && !finished && <strong>waits for approval</strong>}
                {ring.gate?.kind === 'soak' && <Countdown until={ring.gate.until} now={now} what="soak ends" />}
                {ring.gate?.kind === 'wave' && <span>clusters in flight</span>}
                {ring.gate?.kind === 'paused' && <span>paused</span>}
                {ring.gate?.kind === 'metrics' && <span>soak over, metric gates measuring</span>}
                {ring.gate?.kind === 'window' && <strong>waits for its deployment window{ring.gate.opensAt ? <>: opens {when(ring.gate.opensAt)}</> : ' (it never opens again)'}</strong>}
                {ring.gate?.kind === 'freeze' && <strong>held by the freeze: {ring.gate.reason}</strong>}
                {ring.approval.approvedBy && <span>approved by <strong>{ring.approval.approvedBy}</strong> {when(ring.approval.approvedAt)}</span>}
                {canApprove && (
                  <button type="button" className="primary" disabled={!!approveDenied || busy !== null} title={approveDenied ?? undefined}
                    aria-describedby={approveDenied ? `approve-denied-${ring.ring}` : undefined}
                    onClick={() => void act('approve', { ring: ring.ring })}>{busy === 'approve' ? 'Approving…' : `Approve ${ring.ring}`}</button>
                )}
                {canApprove && approveDenied && <span id={`approve-denied-${ring.ring}`} className="hint">Approval {approveDenied}.</span>}
              </header>
              <p className="hint">
                {ring.policy.approval === 'manual' ? 'manual approval' : 'automatic'} · at most {ring.policy.maxInFlight ?? 'all'} in flight · {ring.policy.maxFailures} failures allowed
                · soak {duration(ring.policy.soakMs)} · deadline {duration(ring.policy.progressDeadlineMs)} · {ring.policy.autoRollback ? 'rolls back by itself' : 'no automatic rollback'}
                {ring.failures > 0 && <strong> · {ring.failures} failed</strong>}
                {ring.startedAt && <> · started {when(ring.startedAt)}</>}{ring.finishedAt && <> · finished {when(ring.finishedAt)} ({duration(Date.parse(ring.finishedAt) - Date.parse(ring.startedAt ?? ring.finishedAt))})</>}
              </p>
              <div className="waves">
                {ring.waves.map((w) => (
                  <div key={w.wave} className="wave">
                    <div><strong>Wave {w.wave + 1}</strong>{w.label && <small> ({w.label})</small>} <State state={settled(w.state, finished)} /></div>
                    <div className="hint">
                      {w.state === 'soaking' && !finished && <Countdown until={w.soakUntil} now={now} what="soak ends" />}
                      {w.state === 'in_progress' && !finished && <Countdown until={w.deadlineAt} now={now} what="deadline" />}
                    </div>
                    <ul>
                      {w.clusters.map((c) => (
                        <li key={c.cluster} className={SHOWN_CLASS[settled(c.state, finished)] ?? 'st-none'} title={c.reason ?? `${c.phase}${c.manifestCommit ? ` · ${c.manifestCommit}` : ''}`}>
                          {c.cluster} <small>{label(settled(c.state, finished))}{c.mode === 'argocd' ? ' · Argo CD' : ' · direct'}</small>
                          {c.reason && <div className="reason">{c.reason}</div>}
                        </li>
                      ))}
                    </ul>
                  </div>
                ))}
              </div>
              {ring.metrics?.length ? <MetricGates ring={ring.ring} gates={ring.metrics} /> : null}
            </article>
          );
        })}
      </div>

      {rel.rollback && (
        <>
          <h2>Rollback</h2>
          <ul className="wave">
            {rel.rollback.clusters.map((c) => <li key={c.cluster} className={STATE_CLASS[c.state] ?? 'st-none'}>{c.cluster} <small>{label(c.state)}</small>{c.reason && <div className="reason">{c.reason}</div>}</li>)}
          </ul>
        </>
      )}

      {rel.alerts && rel.alerts.length > 0 && (
        <>
          <h2>Alerts</h2>
          <ul data-testid="alerts">
            {rel.alerts.map((a) => (
              <li key={`${a.fingerprint}-${a.startsAt}`} className={a.status === 'firing' ? 'st-failed' : 'st-none'}>
                <strong>{a.alert}</strong> {a.status} on {a.cluster}{a.instance ? `/${a.instance}` : ''} (ring {a.ring}) since {when(a.startsAt)}
                {a.action === 'fail' ? ' — failed the cluster' : a.action === 'pause' ? ' — paused the release' : a.action === 'none' ? ' — cluster not in flight, nothing done' : ''}
                {a.summary && <div className="reason">{a.summary}</div>}
              </li>
            ))}
          </ul>
        </>
      )}

      <h2>Approvals</h2>
      {rel.approvals.length === 0 ? <p className="hint">None yet.</p> : (
        <ul data-testid="approvals">
          {rel.approvals.map((a, i) => <li key={i}><strong>{a.actor}</strong> {a.result} ring {a.ring} {when(a.at)}{a.reason ? ` — ${a.reason}` : ''}</li>)}
        </ul>
      )}
    </section>
  );
}
