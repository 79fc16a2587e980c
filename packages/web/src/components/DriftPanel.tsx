import { useState } from 'react';
import type { DriftAnswer, DriftRecord } from '@ringmaster/api';
import { api, ApiError, may, query } from '../api.ts';
import { useSession } from '../App.tsx';
import { keys } from '../keys.ts';
import { reloadKey, usePost, useViewData } from '../query.ts';
import { when } from '../format.ts';

/** One drifted field as GET /api/v1/drift answers it. */
export type DriftField = DriftRecord;

const show = (v: unknown) => (v === undefined || v === null ? '–' : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The drift of one instance: each field with desired and live value, who changed it (manager and
 * the person from the audit log) and when; Heal and Adopt for those whose role and scope allow it.
 */
export function DriftPanel({ cluster, instance }: { cluster: string; instance: string }) {
  const { me } = useSession();
  const { busy: acting, post } = usePost<'heal' | 'adopt'>(() => reloadKey(keys.drift(cluster, instance)));
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  // read again with the instance: when an event names its cluster (keys.ts)
  const { data, error } = useViewData('drift', keys.drift(cluster, instance), (signal) => api<DriftAnswer>(`/drift${query({ cluster, instance })}`, { signal }));
  const found = data?.instances[0];
  if (error && !data) return <p className="error" role="alert">{error.message}</p>;
  if (!found) return <p data-testid="drift-none">No drift: the live objects match the fleet repo.</p>;
  const allowed = may(me, 'deployer', { app: found.app, ring: found.ring });
  const act = async (action: 'heal' | 'adopt') => {
    setOutcome(null);
    try {
      const r = await post<{ branch?: string | null; commit?: string; healed?: unknown[] }>(action, `/drift/${encodeURIComponent(instance)}/${action}`, { cluster });
      setOutcome({ ok: true, text: action === 'adopt' ? `Adopted as commit ${r.commit?.slice(0, 12)} on branch ${r.branch}: review and merge it, then release it.` : `Healed ${r.healed?.length ?? 0} field(s).` });
    } catch (err) {
      setOutcome({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    }
  };
  return (
    <section aria-labelledby="drift-title" data-testid="drift">
      <h2 id="drift-title" className="drift">⚠ Drift: {found.fields.length} field(s) differ from the fleet repo</h2>
      <table>
        <thead><tr><th>Object</th><th>Field</th><th>Desired</th><th>Live</th><th>Changed by</th><th>When</th></tr></thead>
        <tbody>
          {found.fields.map((f) => (
            <tr key={`${f.object.kind}/${f.object.name}/${f.path}`}>
              <td>{f.object.kind} {f.object.name}</td>
              <td><code>{f.state === 'missing' ? '(deleted)' : f.path || '(out of sync)'}</code></td>
              <td><code>{show(f.desired)}</code></td>
              <td><code>{show(f.live)}</code></td>
              <td data-testid="drift-user">{f.user ?? '–'}{f.manager ? <> ({f.manager})</> : null}</td>
              <td>{f.userAt ?? f.changedAt ? <time dateTime={(f.userAt ?? f.changedAt)!}>{when((f.userAt ?? f.changedAt)!)}</time> : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {allowed ? (
        <p>
          <button type="button" disabled={acting !== null} onClick={() => void act('heal')}>Heal (restore Git's state)</button>{' '}
          <button type="button" disabled={acting !== null} onClick={() => void act('adopt')}>Adopt into Git</button>
        </p>
      ) : <p>Healing or adopting needs the deployer role for app {found.app}{found.ring ? ` in ring ${found.ring}` : ''}.</p>}
      {outcome && <p role={outcome.ok ? 'status' : 'alert'} className={outcome.ok ? undefined : 'error'} data-testid="drift-outcome">{outcome.text}</p>}
    </section>
  );
}
