import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@ringmaster/kube';
import { ANNOTATIONS, LABELS } from './constants.ts';
import { DEFAULT_TEMPLATE, desiredNodes, nodePod, type OperatorTemplate } from './nodes.ts';
import { decide, statusUnchanged, type Snapshot } from './reconcile.ts';
import type { AppCluster } from './types.ts';

function app(extra: Partial<AppCluster['spec']> = {}, annotations: Record<string, string> = {}): AppCluster {
  return {
    apiVersion: 'ringmaster.dev/v1alpha1',
    kind: 'AppCluster',
    metadata: { name: 'shop', namespace: 'ns', uid: 'u-1', generation: 1, annotations },
    spec: {
      roles: [
        { name: 'synchronizer', replicas: 1, image: 'app:1' },
        { name: 'backend', replicas: 2, image: 'app:1' },
        { name: 'frontend', replicas: 2, image: 'app:1', ports: [{ name: 'http', port: 8080 }] },
      ],
      cache: { builder: 'synchronizer', stopBuilderWhenReady: true },
      ...extra,
    },
  };
}

let uid = 0;
const ready = (pod: KubeObject): KubeObject => ({ ...pod, metadata: { ...pod.metadata, uid: `pod-${++uid}` }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });

/** Runs decide, carries out its pod creations as Ready pods and records the status, until nothing changes (bounded). */
function converge(a: AppCluster, template: OperatorTemplate = DEFAULT_TEMPLATE, pods: KubeObject[] = []): { app: AppCluster; pods: KubeObject[]; services: KubeObject[]; configMap?: KubeObject; rounds: Snapshot[] } {
  const rounds: Snapshot[] = [];
  let services: KubeObject[] = [];
  let configMap: KubeObject | undefined;
  for (let i = 0; i < 20; i++) {
    const snap: Snapshot = { app: a, pods, services, configMap, template, now: '2026-01-01T00:00:00Z' };
    rounds.push(snap);
    const plan = decide(snap);
    if (plan.actions.length === 0 && statusUnchanged(a.status, plan.status)) return { app: a, pods, services, configMap, rounds };
    for (const act of plan.actions) {
      if (act.kind === 'createPod') pods = [...pods, ready(act.pod)];
      if (act.kind === 'deletePod') pods = pods.filter((p) => p.metadata.name !== act.name);
      if (act.kind === 'patchPod') pods = pods.map((p) => (p.metadata.name === act.name ? { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, ...act.metadata.labels }, annotations: { ...p.metadata.annotations, ...act.metadata.annotations } } } : p));
      if (act.kind === 'apply' && act.object.kind === 'Service') services = [...services.filter((s) => s.metadata.name !== act.object.metadata.name), act.object];
      if (act.kind === 'apply' && act.object.kind === 'ConfigMap') configMap = act.object;
    }
    a = { ...a, status: plan.status };
  }
  throw new Error('did not converge in 20 rounds');
}

describe('decide', () => {
  it('starts the roles in order: only the synchronizer first', () => {
    const plan = decide({ app: app(), pods: [], services: [], template: DEFAULT_TEMPLATE, now: 'now' });
    const created = plan.actions.filter((a) => a.kind === 'createPod').map((a) => (a.kind === 'createPod' ? a.pod.metadata.name : ''));
    expect(created).toEqual(['shop-synchronizer-0']);
    expect(plan.status.nodes?.find((n) => n.name === 'backend-0')?.message).toBe('waiting for role synchronizer to be Ready');
  });

  it('stops the builder once the cache is Ready and gives every other node the cache version', () => {
    const { app: a, pods } = converge(app());
    expect(a.status?.cache).toMatchObject({ phase: 'Ready', version: 'shop.1' });
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(['shop-backend-0', 'shop-backend-1', 'shop-frontend-0', 'shop-frontend-1']);
    expect(pods.every((p) => p.metadata.annotations?.[ANNOTATIONS.cacheVersion] === 'shop.1')).toBe(true);
    expect(a.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('makes no change in a steady state', () => {
    const { app: a, pods, services, configMap } = converge(app());
    const plan = decide({ app: a, pods, services, configMap, template: DEFAULT_TEMPLATE, now: 'later' });
    expect(plan.actions).toEqual([]);
    expect(statusUnchanged(a.status, plan.status)).toBe(true);
  });

  it('relabels a dark node without replacing its Pod', () => {
    const { app: a, pods } = converge(app());
    const dark = { ...a, spec: { ...a.spec, nodes: [{ name: 'frontend-1', traffic: 'dark' as const }] } };
    const plan = decide({ app: dark, pods, services: [], template: DEFAULT_TEMPLATE, now: 'x' });
    const podActions = plan.actions.filter((x) => x.kind !== 'apply');
    expect(podActions).toEqual([expect.objectContaining({ kind: 'patchPod', name: 'shop-frontend-1', metadata: { labels: { [LABELS.traffic]: 'dark' } } })]);
  });

  it('replaces only the node whose image is overridden', () => {
    const { app: a, pods } = converge(app());
    const upgraded = { ...a, spec: { ...a.spec, nodes: [{ name: 'backend-1', image: 'app:2' }] } };
    const plan = decide({ app: upgraded, pods, services: [], template: DEFAULT_TEMPLATE, now: 'x' });
    expect(plan.actions.filter((x) => x.kind === 'deletePod').map((x) => (x.kind === 'deletePod' ? x.name : ''))).toEqual(['shop-backend-1']);
  });

  it('holds every change while paused but still reports status', () => {
    const a = app({}, { [ANNOTATIONS.paused]: 'true' });
    const plan = decide({ app: a, pods: [], services: [], template: DEFAULT_TEMPLATE, now: 'x' });
    expect(plan.actions).toEqual([]);
    expect(plan.held).toBeGreaterThan(0);
    expect(plan.status.conditions?.find((c) => c.type === 'Paused')?.status).toBe('True');
  });

  it('waits for a newer release before rolling a new operator template (onRelease)', () => {
    const { app: a, pods } = converge(app({}, { [ANNOTATIONS.release]: 'r1' }));
    const next: OperatorTemplate = { revision: '2', cacheInitImage: 'ringmaster.dev/cache-init:2' };
    const held = decide({ app: a, pods, services: [], template: next, now: 'x' });
    expect(held.actions.filter((x) => x.kind === 'deletePod')).toEqual([]);
    expect(held.status.nodes?.filter((n) => n.updatePending).length).toBe(4);
    const released = { ...a, metadata: { ...a.metadata, annotations: { [ANNOTATIONS.release]: 'r2' } } };
    const rolled = decide({ app: released, pods, services: [], template: next, now: 'x' });
    expect(rolled.actions.filter((x) => x.kind === 'deletePod')).toHaveLength(1);
    expect(rolled.status).toMatchObject({ operatorRevision: '2', acceptedRelease: 'r2' });
  });

  it('rolls a new operator template at once with updatePolicy immediate', () => {
    const { app: a, pods } = converge(app({ updatePolicy: 'immediate' }));
    const next: OperatorTemplate = { revision: '2', cacheInitImage: 'ringmaster.dev/cache-init:2' };
    const { pods: after } = converge(a, next, pods);
    expect(after.every((p) => !pods.some((q) => q.metadata.uid === p.metadata.uid))).toBe(true);
  });

  it('builds node names from role ordinals with their overrides', () => {
    const nodes = desiredNodes(app({ nodes: [{ name: 'frontend-0', state: 'down' }] }));
    expect(nodes.map((n) => `${n.name}:${n.state}`)).toEqual(['synchronizer-0:up', 'backend-0:up', 'backend-1:up', 'frontend-0:down', 'frontend-1:up']);
    expect(nodePod(app(), nodes[1]!, DEFAULT_TEMPLATE, { version: 'v' }).spec).toMatchObject({ initContainers: [expect.objectContaining({ name: 'wait-cache' })] });
  });
});
