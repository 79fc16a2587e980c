import { useState } from 'react';
import { experimental_streamedQuery as streamedQuery, keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, ApiError, getToken, may, query } from '../api.ts';
import { useSession } from '../App.tsx';
import { keys } from '../keys.ts';
import { reloadKey, usePost, useViewData } from '../query.ts';
import { shortSha, when } from '../format.ts';
import { useRenderTiming } from '../perf.ts';
import { linkProps, navigate, useQueryState } from '../navigation.ts';
import { rowKeys } from '../components/rowKeys.ts';
import { Stale } from '../components/Stale.tsx';
import { label, StateBadge } from '../components/StateBadge.tsx';
import type { LogLine, RequestState, RequestSummary, RequestView as Request } from '@ringmaster/api';

const STATE_CLASS: Record<RequestState, string> = {
  dry_run: 'st-none', awaiting_approval: 'st-waiting', running: 'st-running', succeeded: 'st-ok', failed: 'st-failed', rejected: 'st-failed', cancelled: 'st-failed',
};
const STEP_CLASS: Record<string, string> = { pending: 'st-none', running: 'st-running', succeeded: 'st-ok', failed: 'st-failed', skipped: 'st-none', cancelled: 'st-failed' };
const ACTIVE = new Set<RequestState>(['awaiting_approval', 'running']);

/** Every provision, operate and decommission request, newest first, filtered by state and kind. */
export function RequestsView() {
  const [params, set] = useQueryState();
  const state = params.get('state');
  const kind = params.get('kind');
  const { data, error, loadedAt, failedAt } = useViewData('requests', keys.requests(state, kind),
    (signal) => api<{ requests: RequestSummary[] }>(`/requests${query({ state, kind, limit: 100 })}`, { signal }));
  useRenderTiming('requests', data);
  return (
    <section aria-labelledby="requests-title">
      <h1 id="requests-title">Requests</h1>
      <form className="filters" role="search" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="filter-kind"><span>Kind</span>
          <select id="filter-kind" value={kind ?? ''} onChange={(e) => set({ kind: e.target.value || null })}>
            <option value="">any</option>
            {['provision', 'operate', 'decommission'].map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label htmlFor="filter-state"><span>State</span>
          <select id="filter-state" value={state ?? ''} onChange={(e) => set({ state: e.target.value || null })}>
            <option value="">any</option>
            {Object.keys(STATE_CLASS).filter((s) => s !== 'dry_run').map((s) => <option key={s} value={s}>{label(s)}</option>)}
          </select>
        </label>
      </form>
      {data && <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />}
      {error && !data && <p className="error" role="alert">{error instanceof ApiError && error.status === 404 ? `Requests are not available: ${error.message}` : error.message}</p>}
      {!data && !error && <p className="loading" role="status">Loading requests…</p>}
      {data && (
        <div className="table-wrap">
          <table className="grid" data-testid="requests">
            <thead><tr><th scope="col">Request</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Instance</th><th scope="col">Cluster</th><th scope="col">App</th><th scope="col">Step</th><th scope="col">Ticket</th><th scope="col">By</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {data.requests.length === 0 && <tr><td colSpan={10}>No request yet. Create one with <code>ringmaster request create provision</code>.</td></tr>}
              {data.requests.map((r) => (
                <tr key={r.id} tabIndex={0} data-request={r.id} onKeyDown={rowKeys(() => navigate(`/requests/${encodeURIComponent(r.id)}`))}>
                  <th scope="row"><a {...linkProps(`/requests/${encodeURIComponent(r.id)}`)}>{r.id}</a></th>
                  <td>{r.kind}</td>
                  <td><StateBadge state={r.state} classes={STATE_CLASS} /></td>
                  <td>{r.instance}</td>
                  <td>{r.cluster}</td>
                  <td>{r.app}{r.ring ? <small> · {r.ring}</small> : null}</td>
                  <td>{r.currentStep ?? '–'}</td>
                  <td>{r.ticket ?? '–'}</td>
                  <td>{r.createdBy}</td>
                  <td><time dateTime={r.createdAt}>{when(r.createdAt)}</time></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The lines of a running request's log as they are written (NDJSON), from the first one. */
async function* followLogs(path: string, signal: AbortSignal): AsyncGenerator<LogLine> {
  const res = await fetch(`/api/v1${path}?follow=true`, { headers: { authorization: `Bearer ${getToken() ?? ''}`, accept: 'application/x-ndjson' }, signal });
  if (!res.ok || !res.body) throw new Error(`the log stream answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    rest += value;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) yield JSON.parse(p) as LogLine;
  }
}

/**
 * The log lines of a request: read once when it is not running, followed while it runs; read again
 * when its state changes. What was shown stays until the new lines arrive.
 */
function useLogs(id: string, state: string | null): { lines: LogLine[]; error: string | null } {
  const path = `/requests/${encodeURIComponent(id)}/logs`;
  const running = state === 'running';
  const q = useQuery({
    queryKey: keys.requestLogs(id, state ?? ''),
    queryFn: running
      ? streamedQuery<LogLine>({ streamFn: ({ signal }) => followLogs(path, signal) })
      : async ({ signal }) => (await api<{ lines: LogLine[] }>(path, { signal })).lines,
    placeholderData: keepPreviousData,
  });
  return { lines: q.data ?? [], error: q.error?.message ?? null };
}

export function RequestView({ id }: { id: string }) {
  const { me } = useSession();
  const { busy, post } = usePost<'approve' | 'reject' | 'cancel'>(() => reloadKey(keys.request(id)));
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  // steps move on their own between events: look again every few seconds while the request is active
  const { data: req, error, loadedAt, failedAt } = useViewData<Request>('request', keys.request(id), (signal) => api<Request>(`/requests/${encodeURIComponent(id)}`, { signal }),
    { refetchInterval: (r) => (r && ACTIVE.has(r.state) ? 3000 : false) });
  useRenderTiming('request', req);
  const running = req?.state === 'running';
  const logs = useLogs(id, req?.state ?? null);

  if (error && !req) return <section><h1>Request {id}</h1><p className="error" role="alert">{error.message}</p></section>;
  if (!req) return <p className="loading" role="status">Loading request…</p>;

  const act = async (action: 'approve' | 'reject' | 'cancel', body: Record<string, unknown>) => {
    setMessage(null);
    try {
      const r = await post<Request>(action, `/requests/${encodeURIComponent(id)}/${action}`, body);
      setMessage({ kind: 'ok', text: `Request ${label(r.state)}.` });
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof Error ? err.message : String(err) });
    }
  };
  const withComment = (action: 'approve' | 'reject' | 'cancel', question: string) => {
    const comment = window.prompt(`${question}\n${action === 'cancel' ? 'Reason' : 'Comment'} (optional):`);
    if (comment === null) return;
    void act(action, comment ? { [action === 'cancel' ? 'reason' : 'comment']: comment } : {});
  };
  const scope = { app: req.app, ring: req.ring };
  const approveDenied = may(me, 'approver', scope) ? null : `needs the approver role for app ${req.app}${req.ring ? ` in ring ${req.ring}` : ''}; you are ${me.role}`;
  const cancelDenied = may(me, 'deployer', scope) ? null : `needs the deployer role for app ${req.app}${req.ring ? ` in ring ${req.ring}` : ''}; you are ${me.role}`;
  const d = req.dryRun;

  return (
    <section aria-labelledby="request-title" className="detail">
      <p><a {...linkProps('/requests')}>← All requests</a></p>
      <div className="title-row">
        <h1 id="request-title">{label(req.kind)} {req.instance}</h1>
        <StateBadge state={req.state} classes={STATE_CLASS} />
      </div>
      <Stale loadedAt={loadedAt} failedAt={failedAt} error={error} />
      <dl className="facts">
        <div><dt>Request</dt><dd><code>{req.id}</code></dd></div>
        <div><dt>App</dt><dd>{req.app}{req.ring ? ` · ring ${req.ring}` : ''}</dd></div>
        <div><dt>Cluster</dt><dd><a {...linkProps(`/fleet/${encodeURIComponent(req.cluster)}`)}>{req.cluster}</a></dd></div>
        <div><dt>Created</dt><dd>{when(req.createdAt)} by {req.createdBy}</dd></div>
        {req.ticket && <div><dt>Ticket</dt><dd>{req.ticket}</dd></div>}
        {req.reason && <div><dt>Reason</dt><dd>{req.reason}</dd></div>}
        <div><dt>Approval</dt><dd data-testid="request-approval">{req.approval
          ? <>{req.approval.state} by <strong>{req.approval.by}</strong> {req.approval.via === 'ticket' ? 'through the ticket' : ''} {when(req.approval.at)}{req.approval.comment ? ` — ${req.approval.comment}` : ''}</>
          : req.state === 'awaiting_approval' ? 'waits for an approver or the ticket' : '–'}</dd></div>
        {(req.links.commit || req.links.release || req.links.operation) && (
          <div><dt>Made</dt><dd>
            {req.links.commit && <>fleet commit <code>{shortSha(req.links.commit)}</code> </>}
            {req.links.release && <>· release <a {...linkProps(`/releases/${encodeURIComponent(req.links.release)}`)}>{req.links.release}</a> </>}
            {req.links.operation && <>· NodeOperation <code>{req.links.operation}</code></>}
          </dd></div>
        )}
      </dl>
      {ACTIVE.has(req.state) && (
        <div className="actions" role="group" aria-label="Request actions">
          {req.state === 'awaiting_approval' && (
            <>
              <button type="button" className="primary" disabled={!!approveDenied || busy !== null} title={approveDenied ?? undefined}
                onClick={() => withComment('approve', `Approve ${req.kind} of ${req.instance}?`)}>{busy === 'approve' ? 'Approving…' : 'Approve'}</button>
              <button type="button" className="danger" disabled={!!approveDenied || busy !== null} title={approveDenied ?? undefined}
                onClick={() => withComment('reject', `Reject ${req.kind} of ${req.instance}?`)}>{busy === 'reject' ? 'Rejecting…' : 'Reject'}</button>
            </>
          )}
          <button type="button" disabled={!!cancelDenied || busy !== null} title={cancelDenied ?? undefined}
            onClick={() => withComment('cancel', `Cancel ${req.kind} of ${req.instance}? Steps already done are not undone.`)}>{busy === 'cancel' ? 'Cancelling…' : 'Cancel'}</button>
          {req.state === 'awaiting_approval' && approveDenied && <span className="hint">Approval {approveDenied}.</span>}
        </div>
      )}
      {message && <p className={message.kind === 'error' ? 'error' : 'ok'} role={message.kind === 'error' ? 'alert' : 'status'}>{message.text}</p>}

      <h2>Steps</h2>
      <ol className="steps" data-testid="request-steps">
        {req.steps.map((s) => (
          <li key={s.name} data-step={s.name}>
            <strong>{s.name}</strong> <StateBadge state={s.state} classes={STEP_CLASS} />
            {s.attempts > 1 && <small> · {s.attempts} attempts</small>}
            {s.startedAt && <small> · {when(s.startedAt)}{s.finishedAt ? ` → ${when(s.finishedAt)}` : ''}</small>}
            {s.message && <div className="reason">{s.message}</div>}
          </li>
        ))}
      </ol>

      <h2>Preflight</h2>
      <ul className="checks" data-testid="request-preflight">
        {req.preflight.map((c) => (
          <li key={c.check} className={c.ok ? 'st-ok' : 'st-failed'}><span aria-label={c.ok ? 'passed' : 'failed'}>{c.ok ? '✓' : '✗'}</span> {c.check} <small>— {c.reason}</small></li>
        ))}
      </ul>

      <h2>Dry run</h2>
      <p className="hint">In order: {d.order.join(' → ')}</p>
      {d.objects.length > 0 && (
        <div className="table-wrap">
          <table className="grid" data-testid="request-objects">
            <thead><tr><th scope="col">Action</th><th scope="col">Kind</th><th scope="col">Object</th><th scope="col">Note</th></tr></thead>
            <tbody>
              {d.objects.map((o) => (
                <tr key={`${o.kind}/${o.namespace ?? ''}/${o.name}`}><td>{o.action}</td><td>{o.kind}</td><td>{o.namespace ? `${o.namespace}/` : ''}{o.name}</td><td>{o.note ?? ''}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {d.operations.length > 0 && <ul>{d.operations.map((o, i) => <li key={i}>{o.type}{o.node ? ` on ${o.node}` : ''}: {o.summary}</li>)}</ul>}
      {d.outside.length > 0 && <ul data-testid="request-outside">{d.outside.map((o, i) => <li key={i}><strong>{o.step}</strong>: {o.summary}</li>)}</ul>}
      {d.fleetDiff && (
        <details open={req.state === 'awaiting_approval'}>
          <summary>Fleet-repo change</summary>
          <pre className="diff" data-testid="request-diff">{d.fleetDiff}</pre>
        </details>
      )}
      {d.planText && (
        <details>
          <summary>Plan of that change</summary>
          <pre className="diff">{d.planText}</pre>
        </details>
      )}

      <h2>Logs</h2>
      {logs.error && <p className="error" role="alert">{logs.error}</p>}
      {logs.lines.length === 0 ? <p className="hint">No log lines yet.</p> : (
        <pre className="logs" data-testid="request-logs" aria-live={running ? 'polite' : undefined}>
          {logs.lines.map((l) => `${l.at.slice(11, 19)} ${l.step.padEnd(14)} ${l.message}`).join('\n')}
        </pre>
      )}
    </section>
  );
}
