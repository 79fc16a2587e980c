import { useState } from 'react';
import type { InstanceNodes, NodeStatus, OperationView } from '@ringmaster/api';
import { api, ApiError, may, query } from '../api.ts';
import { useSession } from '../App.tsx';
import { keys } from '../keys.ts';
import { reloadKey, usePost, useViewData } from '../query.ts';
import { when } from '../format.ts';

type NodeRow = NodeStatus;
type NodesAnswer = InstanceNodes;
type OperationRow = OperationView;

/**
 * The nodes of an instance's AppCluster (role, phase, up/down, serving/dark, image, cache version,
 * update pending) and its NodeOperations (phase, steps, progress), with Dark / Serve / Upgrade /
 * Approve for those whose role and scope allow it. Answers 404 (no AppCluster, or not delivered by
 * Ringmaster) show nothing: most instances are not AppClusters.
 */
export function NodesPanel({ cluster, instance }: { cluster: string; instance: string }) {
  const { me } = useSession();
  const { busy: acting, post } = usePost<string>(() => reloadKey(keys.nodes(cluster, instance)));
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const base = `/instances/${encodeURIComponent(instance)}`;
  // read again with the instance (when an event names its cluster, keys.ts), and every 2 s while an
  // operation is in flight, until none is Pending or Running
  const { data, error } = useViewData('nodes', keys.nodes(cluster, instance), async (signal) => {
    try {
      const [nodes, ops] = await Promise.all([
        api<NodesAnswer>(`${base}/nodes${query({ cluster })}`, { signal }),
        api<{ operations: OperationRow[] }>(`${base}/operations${query({ cluster })}`, { signal }),
      ]);
      return { nodes, operations: ops.operations };
    } catch (err) {
      // no AppCluster, not delivered by Ringmaster, or outside the token's scope: no panel
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) return null;
      throw err;
    }
  }, { refetchInterval: (d) => (d && (d.operations.some((o) => o.phase === 'Pending' || o.phase === 'Running') || !!d.nodes.activeOperation) ? 2000 : false) });
  if (error && data === undefined) return <p className="error" role="alert">{error.message}</p>;
  if (!data) return null;
  const { nodes, operations } = data;
  const operate = may(me, 'deployer', { app: nodes.app, ring: nodes.ring });
  const approve = may(me, 'approver', { app: nodes.app, ring: nodes.ring });
  const act = async (label: string, path: string, body: Record<string, unknown>) => {
    setOutcome(null);
    try {
      const r = await post<{ name: string; phase: string }>(label, path, { cluster, ...body });
      setOutcome({ ok: true, text: `${label}: NodeOperation ${r.name} is ${r.phase}.` });
    } catch (err) {
      setOutcome({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    }
  };
  const upgrade = (node: NodeRow) => {
    const image = window.prompt(`New image for ${node.name}`, node.image);
    if (image && image !== node.image) void act(`Upgrade ${node.name}`, `${base}/operations`, { type: 'upgradeNode', node: node.name, image });
  };
  const ready = nodes.conditions.find((c) => c.type === 'Ready');
  return (
    <section aria-labelledby="nodes-title" data-testid="nodes">
      <h2 id="nodes-title">Nodes of AppCluster {nodes.appCluster}</h2>
      <p>{ready ? `Ready: ${ready.status}${ready.message ? ` — ${ready.message}` : ''}` : 'Not reconciled yet'}{nodes.activeOperation ? ` · running ${nodes.activeOperation}` : ''}</p>
      <table>
        <thead><tr><th>Node</th><th>Role</th><th>Phase</th><th>State</th><th>Traffic</th><th>Image</th><th>Cache</th><th>Update</th>{operate && <th>Actions</th>}</tr></thead>
        <tbody>
          {nodes.nodes.map((n) => (
            <tr key={n.name} data-testid={`node-${n.name}`}>
              <td>{n.name}</td>
              <td>{n.role}</td>
              <td title={n.message}>{n.phase}</td>
              <td>{n.state}</td>
              <td>{n.traffic}</td>
              <td><code>{n.image}</code></td>
              <td>{n.cacheVersion ?? '–'}</td>
              <td>{n.updatePending ? 'pending' : '–'}</td>
              {operate && (
                <td>
                  {n.traffic === 'serving'
                    ? <button type="button" disabled={acting !== null} onClick={() => void act(`Dark ${n.name}`, `${base}/operations`, { type: 'setTraffic', node: n.name, traffic: 'dark' })}>Dark</button>
                    : <button type="button" disabled={acting !== null} onClick={() => void act(`Serve ${n.name}`, `${base}/operations`, { type: 'setTraffic', node: n.name, traffic: 'serving' })}>Serve</button>}{' '}
                  <button type="button" disabled={acting !== null} onClick={() => upgrade(n)}>Upgrade…</button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!operate && <p>Operating nodes needs the deployer role for app {nodes.app}{nodes.ring ? ` in ring ${nodes.ring}` : ''}.</p>}
      <h3>Operations</h3>
      {operations.length === 0 ? <p data-testid="operations-none">No operations.</p> : (
        <table data-testid="operations">
          <thead><tr><th>Operation</th><th>Type</th><th>Node</th><th>Phase</th><th>Progress</th><th>Steps</th><th>Created</th><th /></tr></thead>
          <tbody>
            {operations.map((o) => (
              <tr key={o.name} data-testid={`operation-${o.name}`}>
                <td>{o.name}</td>
                <td>{o.type}{o.image ? <> <code>{o.image}</code></> : null}</td>
                <td>{o.node ?? '–'}</td>
                <td title={o.message ?? undefined}>{o.phase}{o.reason ? ` (${o.reason})` : ''}{o.waitsForApproval ? ' · waits for approval' : ''}</td>
                <td>{o.progress ?? '–'}</td>
                <td>{o.steps.map((s) => `${s.name}: ${s.phase}`).join(' → ') || '–'}</td>
                <td>{o.createdAt ? <time dateTime={o.createdAt}>{when(o.createdAt)}</time> : '–'}{o.createdBy ? ` by ${o.createdBy}` : ''}</td>
                <td>{o.waitsForApproval && approve && <button type="button" disabled={acting !== null} onClick={() => void act(`Approve ${o.name}`, `${base}/operations/${encodeURIComponent(o.name)}/approve`, {})}>Approve</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {outcome && <p role={outcome.ok ? 'status' : 'alert'} className={outcome.ok ? undefined : 'error'} data-testid="nodes-outcome">{outcome.text}</p>}
    </section>
  );
}
