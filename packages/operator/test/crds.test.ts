import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyObjects, KubeApiError, startLocalKube, type KubeObject, type LocalKube } from '@ringmaster/kube';
import { API_VERSION, operatorCrds, type AppClusterSpec, type AppClusterStatus, type NodeOperationSpec, type NodeOperationStatus } from '../src/index.ts';

let kube: LocalKube | undefined;
const k = (): LocalKube => kube!;
const ns = 'crd-test';

beforeAll(async () => {
  kube = await startLocalKube();
  await applyObjects(k().client, operatorCrds);
  await k().client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
}, 240_000);
afterAll(async () => {
  await kube?.stop();
});

function appCluster(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: API_VERSION, kind: 'AppCluster', metadata: { name, namespace: ns }, spec };
}

const roles = [
  { name: 'synchronizer', replicas: 1, image: 'app:1' },
  { name: 'backend', replicas: 2, image: 'app:1' },
  { name: 'frontend', replicas: 2, image: 'app:1', ports: [{ name: 'http', port: 8080 }] },
];

/** The API server's refusal message for creating `obj`, or undefined when it was accepted. */
async function refusal(obj: KubeObject): Promise<string | undefined> {
  try {
    await k().client.create(obj);
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 422) return err.message;
    throw err;
  }
}

describe('AppCluster CRD', () => {
  it('accepts a valid AppCluster and defaults updatePolicy to onRelease', async () => {
    const created = await k().client.create(appCluster('good', { roles, cache: { builder: 'synchronizer' }, nodes: [{ name: 'frontend-1', traffic: 'dark' }, { name: 'backend-0', image: 'app:2' }] }));
    expect((created.spec as { updatePolicy?: string }).updatePolicy).toBe('onRelease');
  });

  it('refuses node overrides that name no node of a role', async () => {
    const message = "spec.nodes: every name must be <role>-<ordinal> of a role in spec.roles, with an ordinal below that role's replicas";
    expect(await refusal(appCluster('beyond-replicas', { roles, nodes: [{ name: 'frontend-2', traffic: 'dark' }, { name: 'backend-1' }] }))).toContain(message);
    expect(await refusal(appCluster('no-role', { roles, nodes: [{ name: 'cache-0' }] }))).toContain(message);
    expect(await refusal(appCluster('in-range', { roles, nodes: [{ name: 'frontend-1' }, { name: 'backend-1' }] }))).toBeUndefined();
    expect(await refusal(appCluster('bad-ordinal', { roles, nodes: [{ name: 'frontend-01' }] }))).toContain('spec.nodes[0].name: Invalid value: "frontend-01"');
    expect(await refusal(appCluster('twice', { roles, nodes: [{ name: 'frontend-0' }, { name: 'frontend-0', traffic: 'dark' }] }))).toContain('Duplicate value: {"name":"frontend-0"}');
  });

  it('refuses duplicate role names', async () => {
    expect(await refusal(appCluster('dup', { roles: [...roles, { name: 'backend', replicas: 1, image: 'x:1' }] }))).toContain('role names must be unique');
  });

  it('refuses replicas out of bounds and a role without image', async () => {
    expect(await refusal(appCluster('many', { roles: [{ name: 'web', replicas: 51, image: 'x:1' }] }))).toMatch(/replicas.*less than or equal to 50/);
    expect(await refusal(appCluster('neg', { roles: [{ name: 'web', replicas: -1, image: 'x:1' }] }))).toMatch(/replicas.*greater than or equal to 0/);
    expect(await refusal(appCluster('noimage', { roles: [{ name: 'web', replicas: 1 }] }))).toContain('spec.roles[0].image: Required value');
  });

  it('refuses a cache builder that is not the first role or no role', async () => {
    expect(await refusal(appCluster('late-builder', { roles, cache: { builder: 'backend' } }))).toContain('the cache builder must be the first role');
    expect(await refusal(appCluster('no-builder', { roles, cache: { builder: 'indexer' } }))).toContain('spec.cache.builder must name one of spec.roles');
  });

  it('refuses a bad updatePolicy, node state and a name too long for its children', async () => {
    expect(await refusal(appCluster('policy', { roles, updatePolicy: 'always' }))).toContain('spec.updatePolicy: Unsupported value: "always"');
    expect(await refusal(appCluster('state', { roles, nodes: [{ name: 'backend-0', state: 'off' }] }))).toContain('Unsupported value: "off"');
    expect(await refusal(appCluster('a'.repeat(31), { roles }))).toContain('an AppCluster name has at most 30 characters');
  });
});

function op(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name, namespace: ns }, spec: { appCluster: 'good', ...spec } };
}

describe('NodeOperation CRD', () => {
  it('refuses node operations without a node and cluster operations with one', async () => {
    expect(await refusal(op('r1', { type: 'restartNode' }))).toContain('spec.node is required for restartNode');
    expect(await refusal(op('r2', { type: 'rebuildCache', node: 'backend-0', approved: true }))).toContain('spec.node is not used by rebuildCache');
  });

  it('refuses upgradeNode without an image, setTraffic without traffic, copyCache without a source', async () => {
    expect(await refusal(op('u1', { type: 'upgradeNode', node: 'frontend-0', approved: true }))).toContain('upgradeNode needs spec.image');
    expect(await refusal(op('t1', { type: 'setTraffic', node: 'frontend-0' }))).toContain('setTraffic needs spec.traffic');
    expect(await refusal(op('c1', { type: 'copyCache', approved: true }))).toContain('copyCache needs spec.source.appCluster');
    expect(await refusal(op('c2', { type: 'copyCache', approved: true, source: { appCluster: 'good' } }))).toContain('cannot copy an AppCluster\'s cache onto itself');
  });

  it('refuses a risky operation that does not say whether it is approved', async () => {
    expect(await refusal(op('s1', { type: 'stopNode', node: 'frontend-0' }))).toContain('spec.approved must be set for stopNode');
    expect(await refusal(op('s2', { type: 'restartNode', node: 'frontend-0' }))).toBeUndefined();
  });

  it('keeps the spec immutable except for the approval, which cannot be withdrawn', async () => {
    await k().client.create(op('up', { type: 'upgradeNode', node: 'frontend-0', image: 'app:2', approved: false }));
    const ref = { apiVersion: API_VERSION, kind: 'NodeOperation', namespace: ns, name: 'up' };
    await expect(k().client.mergePatch(ref, { spec: { image: 'app:3' } })).rejects.toThrow('spec.image is immutable');
    await expect(k().client.mergePatch(ref, { spec: { node: 'frontend-1' } })).rejects.toThrow('spec.node is immutable');
    await k().client.mergePatch(ref, { spec: { approved: true } });
    await expect(k().client.mergePatch(ref, { spec: { approved: false } })).rejects.toThrow('an approval cannot be withdrawn');
  });
});

describe('the TypeScript types and the CRD schemas', () => {
  // every optional field present: a field the schema lacks would be pruned by the API server
  const spec: AppClusterSpec = {
    roles: [{ name: 'web', replicas: 2, image: 'x:1', args: ['--a'], env: [{ name: 'A', value: '1' }], resources: { requests: { cpu: '500m' }, limits: { memory: '1Gi' } }, ports: [{ name: 'http', port: 80 }], readiness: { port: 80, path: '/ready', periodSeconds: 5 } }],
    cache: { builder: 'web', stopBuilderWhenReady: true },
    nodes: [{ name: 'web-1', image: 'x:2', args: ['--b'], state: 'up', traffic: 'dark' }],
    updatePolicy: 'immediate',
  };
  const status: AppClusterStatus = {
    observedGeneration: 1,
    conditions: [{ type: 'Ready', status: 'True', reason: 'AllNodesReady', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
    roles: [{ name: 'web', desired: 2, ready: 2, phase: 'Ready' }],
    nodes: [{ name: 'web-0', role: 'web', phase: 'Ready', state: 'up', traffic: 'serving', image: 'x:1', pod: 'typed-web-0', cacheVersion: 'typed.1', updatePending: true, message: 'm' }],
    cache: { phase: 'Ready', build: 1, version: 'typed.1', copiedFrom: 'other' },
    acceptedRelease: 'r1', operatorRevision: '1', activeOperation: 'op',
  };

  it('keeps every field of an AppCluster (spec and status)', async () => {
    const created = await k().client.create(appCluster('typed', spec as unknown as Record<string, unknown>));
    expect(created.spec).toEqual(spec);
    const updated = await k().client.mergePatch({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: ns, name: 'typed' }, { status }, { subresource: 'status' });
    expect(updated.status).toEqual(status);
  });

  it('keeps every field of a NodeOperation (spec and status)', async () => {
    const opSpec: NodeOperationSpec = { appCluster: 'good', type: 'upgradeNode', node: 'web-1', image: 'x:2', approved: true, stepTimeoutSeconds: 60 };
    const created = await k().client.create({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name: 'typed', namespace: ns }, spec: opSpec });
    expect(created.spec).toEqual(opSpec);
    const opStatus: NodeOperationStatus = {
      phase: 'Running', observedGeneration: 1, reason: 'Running', message: 'm', progress: '0/1 upgrade', startedAt: '2026-01-01T00:00:00Z', completedAt: '2026-01-01T00:00:01Z',
      steps: [{ name: 'upgrade', phase: 'Running', message: 'm', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', data: { podUid: 'u' } }],
      conditions: [{ type: 'Approved', status: 'True', reason: 'Approved', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
    };
    const updated = await k().client.mergePatch({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: ns, name: 'typed' }, { status: opStatus }, { subresource: 'status' });
    expect(updated.status).toEqual(opStatus);
    const copy: NodeOperationSpec = { appCluster: 'good', type: 'copyCache', source: { appCluster: 'other' }, approved: false };
    expect((await k().client.create({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name: 'typed-copy', namespace: ns }, spec: copy })).spec).toEqual(copy);
    const traffic: NodeOperationSpec = { appCluster: 'good', type: 'setTraffic', node: 'web-1', traffic: 'dark' };
    expect((await k().client.create({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name: 'typed-traffic', namespace: ns }, spec: traffic })).spec).toEqual(traffic);
  });
});
