import { describe, expect, it } from 'vitest';
import type { KubeClient, KubeObject } from '@ringmaster/kube';
import type { RenderedInstance, RenderedObject } from '@ringmaster/fleet';
import type { AdapterDeps } from './adapter.ts';
import { DirectAdapter } from './direct-adapter.ts';
import type { Release, Step } from './steps.ts';

// The direct-mode adapter against a recording fake client: which Kubernetes calls each phase makes.
const deployment = (name: string, role: string): RenderedObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name, role, file: `${name}.yaml`, yaml: '',
  object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'ns' }, spec: { replicas: 1 } },
});
const inst = { instance: 'shop-dev-1', app: 'shop', cluster: 'dev-1', namespace: 'ns', objects: [deployment('backend', 'backend'), deployment('frontend', 'frontend')] } as unknown as RenderedInstance;

/** A client that answers reads from `live` and records every other call. */
function fakeClient(live: Record<string, KubeObject>) {
  const calls: string[] = [];
  const client = new Proxy({}, {
    get: (_t, method: string) => {
      if (method === 'get') return async (ref: { name: string }) => live[ref.name];
      if (method === 'list') return async () => ({ items: [] });
      if (method === 'withSignal') return () => client;
      return async (...args: unknown[]) => {
        calls.push(`${method} ${JSON.stringify(args[0]).slice(0, 80)}`);
        return undefined;
      };
    },
  }) as KubeClient;
  return { client, calls };
}

function adapter(client: KubeClient): DirectAdapter {
  const deps: AdapterDeps = {
    client: () => client, target: async () => inst, selfHeal: async () => false, io: (p) => p, includes: async () => true,
    now: () => 0, log: { info() {}, warn() {}, error() {} }, repoURL: 'file:///m', branch: 'main',
  };
  return new DirectAdapter(deps);
}

const step = (phase: Step['phase']): Step => ({
  releaseId: 'r1', step: 'deliver', cluster: 'dev-1', ring: 'dev', wave: 0, position: 0, delivery: { mode: 'direct' }, state: 'in_progress', phase,
  instances: [{ instance: 'shop-dev-1', app: 'shop', namespace: 'ns', action: 'create', digest: 'd', previousRelease: null, previousDigest: null }],
  manifestCommit: 'c', reason: null, startedAt: 0, deadlineAt: null, finishedAt: null,
});
const rel = { id: 'r1' } as Release;
const rolling = (name: string, available: number): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'ns', generation: 1 }, spec: { replicas: 1, selector: { matchLabels: { app: name } } },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: available },
});

describe('direct delivery', () => {
  it('waits on a role that is not healthy yet and applies nothing of the next role', async () => {
    const { client, calls } = fakeClient({ backend: rolling('backend', 0) });
    // stage 1 is the backend role (stage 0: objects without a role)
    const out = await adapter(client).act(rel, step({ kind: 'stage', stage: 1, action: 'wait' }), new AbortController().signal);
    expect(out).toEqual({ kind: 'wait', reason: 'Deployment ns/backend: 0 of 1 updated replicas available' });
    expect(calls).toEqual([]);
  });

  it('moves to the next role once the one before is healthy, and to the prune after the last', async () => {
    const { client } = fakeClient({ backend: rolling('backend', 1), frontend: rolling('frontend', 1) });
    const a = adapter(client);
    expect(await a.act(rel, step({ kind: 'stage', stage: 1, action: 'wait' }), new AbortController().signal)).toEqual({ kind: 'phase', phase: { kind: 'stage', stage: 2, action: 'apply' }, clearReason: true });
    expect(await a.act(rel, step({ kind: 'stage', stage: 2, action: 'wait' }), new AbortController().signal)).toEqual({ kind: 'phase', phase: { kind: 'prune' }, clearReason: true });
  });

  it('stops at once when its signal is aborted (a timed-out action makes no further call)', async () => {
    const { client, calls } = fakeClient({});
    const cancel = new AbortController();
    cancel.abort(new Error('timed out'));
    await expect(adapter(client).act(rel, step({ kind: 'stage', stage: 1, action: 'apply' }), cancel.signal)).rejects.toThrow('timed out');
    expect(calls).toEqual([]);
  });
});
