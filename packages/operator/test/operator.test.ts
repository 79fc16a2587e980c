import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BAD_IMAGE_TAG, compareResourceVersions, KubeClient, startLocalFleet, watchObjects, type KubeObject, type LocalFleet, type WatchHandle } from '@ringmaster/kube';
import { ANNOTATIONS, API_VERSION, startOperator, silentLogger, type AppCluster, type NodeOperation, type RunningOperator } from '../src/index.ts';
import { appRef, conditionOf, counterTotal, endpointPods, eventReasons, events, getApp, getOp, metricsOf, opRef, podOf, pods, ringmaster, spawnOperator, stopProcess, type OperatorProcess } from './helpers.ts';

// One local cluster with real controllers (kube-controller-manager: EndpointSlices, Jobs, garbage
// collection; kube-scheduler; kwok playing the kubelets) for the whole file.
let fleet: LocalFleet | undefined;
let client: KubeClient;
let operator: RunningOperator | undefined;
const ns = 'tenants';
const wait = { timeout: 90_000, interval: 250 };

/** Pod events seen by the test's own watch: resourceVersion at which each Pod was added and turned Ready. */
const podHistory = new Map<string, { added: string; uid: string; readyAt?: string }[]>();
let podWatch: WatchHandle | undefined;

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: ['op-1'], management: false, nodes: 3 });
  client = fleet.cluster('op-1').client;
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  podWatch = watchObjects(client, { apiVersion: 'v1', kind: 'Pod', namespace: ns }, {
    onChange: ({ type, object }) => {
      if (type === 'DELETED') return;
      const name = object.metadata.name!;
      const list = podHistory.get(name) ?? [];
      let entry = list.find((e) => e.uid === object.metadata.uid);
      if (!entry) {
        entry = { added: object.metadata.resourceVersion!, uid: object.metadata.uid! };
        list.push(entry);
        podHistory.set(name, list);
      }
      const ready = ((object.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready && !entry.readyAt) entry.readyAt = object.metadata.resourceVersion;
    },
  });
  await podWatch.synced;
  operator = await startOperator({ client, namespace: ns, leaseNamespace: ns, leaseName: 'in-process', identity: 'operator-in-process', logger: silentLogger, recheckMs: 500 });
  await operator.leading;
}, 600_000);

afterAll(async () => {
  podWatch?.stop();
  await operator?.stop();
  await fleet?.stop();
}, 120_000);

const roles = [
  { name: 'synchronizer', replicas: 1, image: 'registry.local/appserver:1.0' },
  { name: 'backend', replicas: 2, image: 'registry.local/appserver:1.0' },
  { name: 'frontend', replicas: 3, image: 'registry.local/appserver:1.0', ports: [{ name: 'http', port: 8080 }], readiness: { port: 8080, path: '/ready' } },
];

function appCluster(name: string, annotations: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: API_VERSION, kind: 'AppCluster', metadata: { name, namespace: ns, annotations }, spec: { roles, cache: { builder: 'synchronizer', stopBuilderWhenReady: true }, ...extra } };
}

async function untilReady(name: string): Promise<AppCluster> {
  return vi.waitFor(async () => {
    const a = await getApp(client, ns, name);
    expect(a.status?.observedGeneration).toBe(a.metadata.generation);
    expect(conditionOf(a, 'Ready')).toBe('True');
    return a;
  }, wait);
}

async function patchApp(name: string, patch: unknown): Promise<void> {
  await client.mergePatch(appRef(ns, name), patch, { fieldManager: 'test-user' });
}

let opCounter = 0;
async function runOp(spec: Record<string, unknown>, expectPhase: 'Succeeded' | 'Failed' = 'Succeeded'): Promise<NodeOperation> {
  const name = `op-${++opCounter}-${String(spec.type).toLowerCase()}`;
  await client.create({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name, namespace: ns }, spec: { appCluster: 'shop', ...spec } });
  return vi.waitFor(async () => {
    const o = await getOp(client, ns, name);
    expect(o.status?.phase, JSON.stringify(o.status)).toBe(expectPhase);
    return o;
  }, wait);
}

const uidOf = async (pod: string): Promise<string | undefined> => (await podOf(client, ns, pod))?.metadata.uid;

describe('the AppCluster reconciler', () => {
  it('starts the roles in order, stops the synchronizer once its cache is Ready and gives the other nodes the cache version', async () => {
    await client.create(appCluster('shop', { [ANNOTATIONS.release]: 'r1' }));
    const app = await untilReady('shop');
    // the test's own watch saw each role's Pods created only after the role before it turned Ready
    const first = (n: string) => podHistory.get(`shop-${n}`)?.[0];
    const syncReady = first('synchronizer-0')?.readyAt;
    expect(syncReady).toBeDefined();
    for (const b of ['backend-0', 'backend-1']) expect(compareResourceVersions(syncReady, first(b)!.added)).toBe(-1);
    const backendReady = ['backend-0', 'backend-1'].map((b) => first(b)!.readyAt!).sort((x, y) => compareResourceVersions(x, y)!).pop();
    for (const f of ['frontend-0', 'frontend-1', 'frontend-2']) expect(compareResourceVersions(backendReady, first(f)!.added)).toBe(-1);

    expect(app.status?.cache).toMatchObject({ phase: 'Ready', version: 'shop.1', build: 1 });
    expect(app.status?.nodes?.find((n) => n.name === 'synchronizer-0')).toMatchObject({ phase: 'Stopped' });
    const live = await pods(client, ns, 'shop');
    expect(live.map((p) => p.metadata.name).sort()).toEqual(['shop-backend-0', 'shop-backend-1', 'shop-frontend-0', 'shop-frontend-1', 'shop-frontend-2']);
    for (const p of live) {
      expect(p.metadata.annotations?.[ANNOTATIONS.cacheVersion]).toBe('shop.1');
      expect((p.spec as { initContainers?: { name: string }[] }).initContainers?.[0]?.name).toBe('wait-cache');
    }
    const cm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'shop-cache' });
    expect(cm?.data).toEqual({ version: 'shop.1' });
    // the EndpointSlice controller follows the Pods' readiness a moment later
    await vi.waitFor(async () => expect(await endpointPods(client, ns, 'shop-frontend')).toEqual(['shop-frontend-0', 'shop-frontend-1', 'shop-frontend-2']), wait);
    const reasons = await eventReasons(client, app);
    expect(reasons).toEqual(expect.arrayContaining(['NodeCreated', 'NodeStopped', 'CacheReady', 'CacheVersionPublished', 'ServiceApplied', 'Ready']));
  });

  it('makes no write in a steady state: a full pass leaves every resourceVersion as it was', async () => {
    const versions = async () => {
      const objs = [await getApp(client, ns, 'shop'), ...(await pods(client, ns, 'shop')), ...(await client.list('v1', 'Service', { namespace: ns })).items, ...(await client.list('v1', 'ConfigMap', { namespace: ns, labelSelector: 'ringmaster.dev/app-cluster' })).items];
      return Object.fromEntries(objs.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
    };
    const controller = operator!.controller()!;
    await controller.queue.idle();
    const before = await versions();
    const writesBefore = await operator!.metrics.totalWrites();
    const reconcilesBefore = (await operator!.metrics.reconciles.get()).values.reduce((s, v) => s + v.value, 0);
    for (let i = 0; i < 3; i++) {
      controller.resyncAll();
      await controller.queue.idle();
    }
    const reconcilesAfter = (await operator!.metrics.reconciles.get()).values.reduce((s, v) => s + v.value, 0);
    expect(reconcilesAfter - reconcilesBefore).toBeGreaterThanOrEqual(3);
    expect(await operator!.metrics.totalWrites()).toBe(writesBefore);
    expect(await versions()).toEqual(before);
  });

  it('takes a dark node out of its Service\'s EndpointSlices without restarting it, and brings it back', async () => {
    const uid = await uidOf('shop-frontend-1');
    await patchApp('shop', { spec: { nodes: [{ name: 'frontend-1', traffic: 'dark' }] } });
    await vi.waitFor(async () => expect(await endpointPods(client, ns, 'shop-frontend')).toEqual(['shop-frontend-0', 'shop-frontend-2']), wait);
    const app = await untilReady('shop');
    expect(app.status?.nodes?.find((n) => n.name === 'frontend-1')).toMatchObject({ traffic: 'dark', phase: 'Ready' });
    expect(await uidOf('shop-frontend-1')).toBe(uid);
    await patchApp('shop', { spec: { nodes: null } });
    await vi.waitFor(async () => expect(await endpointPods(client, ns, 'shop-frontend')).toEqual(['shop-frontend-0', 'shop-frontend-1', 'shop-frontend-2']), wait);
    expect(await uidOf('shop-frontend-1')).toBe(uid);
  });

  it('replaces only the node whose image is overridden', async () => {
    const others = Object.fromEntries(await Promise.all(['backend-0', 'frontend-0', 'frontend-1', 'frontend-2'].map(async (n) => [n, await uidOf(`shop-${n}`)])));
    await patchApp('shop', { spec: { nodes: [{ name: 'backend-1', image: 'registry.local/appserver:1.1' }] } });
    await vi.waitFor(async () => {
      const p = await podOf(client, ns, 'shop-backend-1');
      expect((p?.spec as { containers: { image: string }[] } | undefined)?.containers[0]?.image).toBe('registry.local/appserver:1.1');
    }, wait);
    await untilReady('shop');
    for (const [n, uid] of Object.entries(others)) expect(await uidOf(`shop-${n}`)).toBe(uid);
  });

  it('holds every change while paused, still updating status, and applies it once unpaused', async () => {
    await patchApp('shop', { metadata: { annotations: { [ANNOTATIONS.paused]: 'true' } } });
    await vi.waitFor(async () => expect(conditionOf(await getApp(client, ns, 'shop'), 'Paused')).toBe('True'), wait);
    await patchApp('shop', { spec: { roles: roles.map((r) => (r.name === 'backend' ? { ...r, replicas: 3 } : r)) } });
    // the status follows the new generation (observedGeneration) while no Pod is created
    const app = await vi.waitFor(async () => {
      const a = await getApp(client, ns, 'shop');
      expect(a.status?.observedGeneration).toBe(a.metadata.generation);
      return a;
    }, wait);
    await operator!.controller()!.queue.idle();
    expect(app.status?.nodes?.find((n) => n.name === 'backend-2')).toMatchObject({ phase: 'Starting' });
    expect(await podOf(client, ns, 'shop-backend-2')).toBeUndefined();
    expect(app.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ reason: 'Paused' });
    await patchApp('shop', { metadata: { annotations: { [ANNOTATIONS.paused]: null } } });
    await vi.waitFor(async () => expect(await podOf(client, ns, 'shop-backend-2')).toBeDefined(), wait);
    const after = await untilReady('shop');
    expect(conditionOf(after, 'Paused')).toBe('False');
  });
});

describe('NodeOperations', () => {
  it('setTraffic dark reaches Succeeded once the node left the EndpointSlices, with an Event per step', async () => {
    const op = await runOp({ type: 'setTraffic', node: 'frontend-2', traffic: 'dark' });
    expect(op.status?.steps?.map((s) => `${s.name}:${s.phase}`)).toEqual(['dark:Succeeded']);
    expect(op.status?.progress).toBe('1/1');
    expect(await endpointPods(client, ns, 'shop-frontend')).not.toContain('shop-frontend-2');
    expect(await eventReasons(client, op)).toEqual(['OperationStarted', 'StepStarted', 'StepSucceeded', 'OperationSucceeded']);
    await runOp({ type: 'setTraffic', node: 'frontend-2', traffic: 'serving' });
    expect(await endpointPods(client, ns, 'shop-frontend')).toContain('shop-frontend-2');
  });

  it('upgradeNode takes the node dark, gives it the new image and serves it again once Ready', async () => {
    const before = await uidOf('shop-frontend-2');
    const op = await runOp({ type: 'upgradeNode', node: 'frontend-2', image: 'registry.local/appserver:2.0', approved: true });
    expect(op.status?.steps?.map((s) => s.name)).toEqual(['dark', 'upgrade', 'serve']);
    const pod = await podOf(client, ns, 'shop-frontend-2');
    expect(pod?.metadata.uid).not.toBe(before);
    expect((pod?.spec as { containers: { image: string }[] }).containers[0]!.image).toBe('registry.local/appserver:2.0');
    expect(pod?.metadata.labels?.['ringmaster.dev/traffic']).toBe('serving');
    expect(await endpointPods(client, ns, 'shop-frontend')).toContain('shop-frontend-2');
    const reasons = await eventReasons(client, op);
    expect(reasons.filter((r) => r === 'StepSucceeded')).toHaveLength(3);
  });

  it('restartNode replaces the node\'s Pod once', async () => {
    const before = await uidOf('shop-backend-0');
    const podsBefore = podHistory.get('shop-backend-0')!.length;
    const op = await runOp({ type: 'restartNode', node: 'backend-0' });
    expect(op.status?.steps?.map((s) => s.name)).toEqual(['restart']);
    expect(op.status?.steps?.[0]?.data?.podUid).toBe(before);
    expect(await uidOf('shop-backend-0')).not.toBe(before);
    expect(podHistory.get('shop-backend-0')!.length).toBe(podsBefore + 1);
  });

  it('stopNode waits for its approval, then stops the node; startNode brings it back serving', async () => {
    const name = 'stop-frontend-0';
    await client.create({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name, namespace: ns }, spec: { appCluster: 'shop', type: 'stopNode', node: 'frontend-0', approved: false } });
    const pending = await vi.waitFor(async () => {
      const o = await getOp(client, ns, name);
      expect(o.status?.reason).toBe('AwaitingApproval');
      return o;
    }, wait);
    expect(pending.status?.phase).toBe('Pending');
    expect(pending.status?.conditions?.find((c) => c.type === 'Approved')?.status).toBe('False');
    await operator!.controller()!.queue.idle();
    expect(await podOf(client, ns, 'shop-frontend-0')).toBeDefined();
    await client.mergePatch(opRef(ns, name), { spec: { approved: true } });
    await vi.waitFor(async () => expect((await getOp(client, ns, name)).status?.phase).toBe('Succeeded'), wait);
    expect(await podOf(client, ns, 'shop-frontend-0')).toBeUndefined();
    expect((await getApp(client, ns, 'shop')).status?.nodes?.find((n) => n.name === 'frontend-0')).toMatchObject({ phase: 'Stopped', state: 'down' });
    const start = await runOp({ type: 'startNode', node: 'frontend-0' });
    expect(start.status?.steps?.map((s) => s.name)).toEqual(['start', 'serve']);
    expect(await endpointPods(client, ns, 'shop-frontend')).toContain('shop-frontend-0');
  });

  it('rebuildCache runs the synchronizer again, stops it and gives every node the new version', async () => {
    const op = await runOp({ type: 'rebuildCache', approved: true });
    expect(op.status?.steps?.map((s) => `${s.name}:${s.phase}`)).toEqual(['build:Succeeded', 'distribute:Succeeded']);
    expect(podHistory.get('shop-synchronizer-0')!.length).toBe(2);
    const app = await untilReady('shop');
    expect(app.status?.cache).toMatchObject({ phase: 'Ready', version: 'shop.2', build: 2 });
    for (const p of await pods(client, ns, 'shop')) expect(p.metadata.annotations?.[ANNOTATIONS.cacheVersion]).toBe('shop.2');
    expect(await podOf(client, ns, 'shop-synchronizer-0')).toBeUndefined();
  });

  it('copyCache copies another AppCluster\'s cache through a Job and publishes its version', async () => {
    await client.create(appCluster('source', {}, { roles: [{ name: 'synchronizer', replicas: 1, image: 'registry.local/appserver:1.0' }, { name: 'frontend', replicas: 1, image: 'registry.local/appserver:1.0' }] }));
    await untilReady('source');
    const op = await runOp({ type: 'copyCache', source: { appCluster: 'source' }, approved: true });
    expect(op.status?.steps?.map((s) => s.name)).toEqual(['copy', 'publish']);
    const app = await untilReady('shop');
    expect(app.status?.cache).toMatchObject({ version: 'source.1', copiedFrom: 'source' });
    for (const p of await pods(client, ns, 'shop')) expect(p.metadata.annotations?.[ANNOTATIONS.cacheVersion]).toBe('source.1');
    const jobs = await client.list('batch/v1', 'Job', { namespace: ns, labelSelector: `ringmaster.dev/operation=${op.metadata.name}` });
    expect(jobs.items).toHaveLength(1);
  });

  it('an upgrade to an image that crash-loops reaches Failed with the reason', async () => {
    const op = await runOp({ type: 'upgradeNode', node: 'frontend-1', image: `registry.local/appserver:${BAD_IMAGE_TAG}`, approved: true }, 'Failed');
    expect(op.status?.reason).toBe('StepFailed');
    expect(op.status?.message).toContain('CrashLoopBackOff');
    expect(op.status?.steps?.map((s) => `${s.name}:${s.phase}`)).toEqual(['dark:Succeeded', 'upgrade:Failed', 'serve:Pending']);
    expect(await eventReasons(client, op)).toContain('OperationFailed');
    // the AppCluster's status follows the operation's (a separate write, later under load)
    await expect.poll(async () => conditionOf(await getApp(client, ns, 'shop'), 'Degraded'), { timeout: 60_000, interval: 250 }).toBe('True');
    // repair it: a good image (the node is dark, so the upgrade leaves it dark), then serve it again
    const repair = await runOp({ type: 'upgradeNode', node: 'frontend-1', image: 'registry.local/appserver:2.0', approved: true });
    expect(repair.status?.steps?.map((s) => s.name)).toEqual(['upgrade']);
    await runOp({ type: 'setTraffic', node: 'frontend-1', traffic: 'serving' });
    expect(await endpointPods(client, ns, 'shop-frontend')).toContain('shop-frontend-1');
    expect(conditionOf(await untilReady('shop'), 'Degraded')).toBe('False');
  });

  it('runs one operation at a time per AppCluster and never runs one twice when it is applied again', async () => {
    const specs = ['backend-0', 'backend-1'].map((n, i) => ({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name: `queued-${i}`, namespace: ns }, spec: { appCluster: 'shop', type: 'restartNode', node: n } }));
    await Promise.all(specs.map((s) => client.create(s)));
    const done = await vi.waitFor(async () => {
      const os = await Promise.all(specs.map((s) => getOp(client, ns, s.metadata.name)));
      for (const o of os) expect(o.status?.phase).toBe('Succeeded');
      return os;
    }, wait);
    const at = (evs: KubeObject[], reason: string) => evs.find((e) => e.reason === reason)!.metadata.resourceVersion;
    // whichever the operator saw first ran first; the other started only after it had succeeded
    const [first, second] = (await Promise.all(done.map((o) => events(client, o)))).sort((x, y) => compareResourceVersions(at(x, 'OperationStarted'), at(y, 'OperationStarted'))!);
    expect(compareResourceVersions(at(first!, 'OperationSucceeded'), at(second!, 'OperationStarted'))).toBe(-1);
    expect(second!.map((e) => e.reason)).toContain('Queued');
    // applying the same objects again changes nothing
    const eventsBefore = (await events(client, done[0]!)).length;
    for (const s of specs) await client.apply(s as KubeObject, { fieldManager: 'test-user' });
    await vi.waitFor(async () => expect((await getOp(client, ns, 'queued-0')).metadata.managedFields?.some((m) => m.manager === 'test-user')).toBe(true), wait);
    operator!.controller()!.resyncAll();
    await operator!.controller()!.queue.idle();
    expect((await getOp(client, ns, 'queued-0')).status).toEqual(done[0]!.status);
    expect((await events(client, done[0]!)).length).toBe(eventsBefore);
  });
});

describe('the operator\'s own blast radius', () => {
  it('a new operator version restarts no node of an AppCluster the release has not reached (updatePolicy onRelease)', async () => {
    await client.create(appCluster('held', { [ANNOTATIONS.release]: 'r1' }, { roles: [{ name: 'synchronizer', replicas: 1, image: 'registry.local/appserver:1.0' }, { name: 'backend', replicas: 1, image: 'registry.local/appserver:1.0' }] }));
    await client.create(appCluster('eager', {}, { updatePolicy: 'immediate', roles: [{ name: 'synchronizer', replicas: 1, image: 'registry.local/appserver:1.0' }, { name: 'backend', replicas: 1, image: 'registry.local/appserver:1.0' }] }));
    await Promise.all(['shop', 'held', 'eager'].map((n) => untilReady(n)));
    const uids = async (app: string) => Object.fromEntries((await pods(client, ns, app)).map((p) => [p.metadata.name, p.metadata.uid]));
    const heldBefore = await uids('held');
    const shopBefore = await uids('shop');
    const eagerBefore = await uids('eager');
    // the operator is upgraded: its own Pod template parts change
    await operator!.stop();
    operator = await startOperator({ client, namespace: ns, leaseNamespace: ns, leaseName: 'in-process', identity: 'operator-v2', logger: silentLogger, recheckMs: 500, template: { revision: '2', cacheInitImage: 'ringmaster.dev/cache-init:2' } });
    await operator.leading;
    // a release reaches shop only
    await patchApp('shop', { metadata: { annotations: { [ANNOTATIONS.release]: 'r2' } } });
    await vi.waitFor(async () => {
      const now = await uids('shop');
      for (const [name, uid] of Object.entries(shopBefore)) expect(now[name], name).not.toBe(uid);
    }, { ...wait, timeout: 180_000 });
    await vi.waitFor(async () => {
      const now = await uids('eager');
      for (const [name, uid] of Object.entries(eagerBefore)) expect(now[name], name).not.toBe(uid);
    }, wait);
    const shop = await untilReady('shop');
    expect(shop.status).toMatchObject({ operatorRevision: '2', acceptedRelease: 'r2' });
    await operator.controller()!.queue.idle();
    const held = await getApp(client, ns, 'held');
    expect(await uids('held')).toEqual(heldBefore);
    expect(held.status?.operatorRevision).toBe('1');
    expect(held.status?.nodes?.find((n) => n.name === 'backend-0')?.updatePending).toBe(true);
    expect(conditionOf(held, 'Ready')).toBe('True');
    for (const p of await pods(client, ns, 'shop')) expect((p.spec as { initContainers?: { image: string }[] }).initContainers?.[0]?.image).toBe('ringmaster.dev/cache-init:2');
    await operator.stop();
    operator = undefined;
  }, 300_000);
});

describe('two operator processes on one Lease', () => {
  let a: OperatorProcess | undefined;
  let b: OperatorProcess | undefined;
  afterAll(async () => {
    await stopProcess(a, 'SIGKILL');
    await stopProcess(b, 'SIGKILL');
  });
  const holder = async () => ((await client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'operators' }))?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

  it('only the holder acts; after kill -9 of the leader mid-operation the standby finishes it without repeating a finished step', async () => {
    const args = ['--kubeconfig', fleet!.cluster('op-1').kubeconfigPath, '--namespace', ns, '--lease-name', 'operators', '--lease-duration-seconds', '4'];
    a = await spawnOperator([...args, '--identity', 'operator-a']);
    await vi.waitFor(async () => expect(await holder()).toBe('operator-a'), wait);
    b = await spawnOperator([...args, '--identity', 'operator-b', '--no-install-crds']);
    // the node's old Pod is held Terminating by a finalizer, so the operation waits inside its upgrade step
    const pod = 'shop-frontend-0';
    await client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod }, { metadata: { finalizers: ['test.ringmaster.dev/hold'] } });
    const podsBefore = podHistory.get(pod)!.length;
    const name = 'crash-upgrade';
    await client.create({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name, namespace: ns }, spec: { appCluster: 'shop', type: 'upgradeNode', node: 'frontend-0', image: 'registry.local/appserver:3.0', approved: true } });
    await vi.waitFor(async () => {
      const o = await getOp(client, ns, name);
      expect(o.status?.steps?.map((s) => `${s.name}:${s.phase}`)).toEqual(['dark:Succeeded', 'upgrade:Running', 'serve:Pending']);
      expect((await podOf(client, ns, pod))?.metadata.deletionTimestamp).toBeDefined();
    }, wait);
    // the standby has written nothing at all
    const standby = await metricsOf(b);
    expect(counterTotal(standby, 'ringmaster_operator_writes_total')).toBe(0);
    expect(standby).toMatch(/^ringmaster_operator_leader 0$/m);

    await stopProcess(a, 'SIGKILL');
    await client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod }, { metadata: { finalizers: null } });
    const done = await vi.waitFor(async () => {
      const o = await getOp(client, ns, name);
      expect(o.status?.phase).toBe('Succeeded');
      return o;
    }, wait);
    expect(await holder()).toBe('operator-b');
    expect(done.status?.steps?.map((s) => `${s.name}:${s.phase}`)).toEqual(['dark:Succeeded', 'upgrade:Succeeded', 'serve:Succeeded']);
    const evs = await events(client, done);
    const by = (reason: string) => evs.filter((e) => e.reason === reason).map((e) => `${String(e.note).split(' ')[2]}@${String(e.reportingInstance)}`);
    // every step started once: dark and upgrade by the killed leader, serve by the one that took over
    expect(by('StepStarted')).toEqual(['dark@operator-a', 'upgrade@operator-a', 'serve@operator-b']);
    expect(by('StepSucceeded')).toEqual(['dark@operator-a', 'upgrade@operator-b', 'serve@operator-b']);
    const overrides = (await events(client, await getApp(client, ns, 'shop'))).filter((e) => e.reason === 'NodeOverridden' && String(e.note).includes(name));
    expect(overrides.map((e) => String(e.note).split('] ')[1])).toEqual(['{"traffic":"dark"}', '{"image":"registry.local/appserver:3.0"}', '{"traffic":"serving"}']);
    // one new Pod for the node, not two
    expect(podHistory.get(pod)!.length).toBe(podsBefore + 1);
    expect(await endpointPods(client, ns, 'shop-frontend')).toContain(pod);
  }, 300_000);
  it('ringmaster node and op create, preview, approve and follow NodeOperations through the kubeconfig', async () => {
    const kube = ['--kubeconfig', fleet!.cluster('op-1').kubeconfigPath, '-n', ns];
    const list = await ringmaster(['node', 'list', 'shop', ...kube, '-o', 'json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { nodes: { name: string; phase: string; traffic: string }[] };
    expect(listed.nodes.find((n) => n.name === 'frontend-1')).toMatchObject({ phase: 'Ready', traffic: 'serving' });

    const opsBefore = (await client.list(API_VERSION, 'NodeOperation', { namespace: ns })).items.length;
    const dry = await ringmaster(['node', 'upgrade', 'shop', 'frontend-1', '--image', 'registry.local/appserver:4.0', '--dry-run', ...kube, '-o', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    const preview = JSON.parse(dry.stdout) as { dryRun: boolean; waitsForApproval: boolean; steps: string[]; changes: { field?: string; from?: string; to?: string }[] };
    expect(preview).toMatchObject({ dryRun: true, waitsForApproval: true, steps: ['dark', 'upgrade', 'serve'] });
    expect(preview.changes[1]).toMatchObject({ field: 'spec.nodes[frontend-1].image', from: 'registry.local/appserver:2.0', to: 'registry.local/appserver:4.0' });
    expect((await client.list(API_VERSION, 'NodeOperation', { namespace: ns })).items.length).toBe(opsBefore);
    const badDry = await ringmaster(['op', 'create', 'shop', '--type', 'upgradeNode', '--node', 'frontend-1', '--dry-run', ...kube]);
    expect(badDry.code).toBe(1);
    expect(badDry.stderr).toContain('upgradeNode needs spec.image');

    const dark = await ringmaster(['node', 'dark', 'shop', 'frontend-1', '--wait', ...kube, '-o', 'json']);
    expect(dark.code, dark.stderr).toBe(0);
    expect(JSON.parse(dark.stdout)).toMatchObject({ phase: 'Succeeded', type: 'setTraffic', node: 'frontend-1' });
    expect(await endpointPods(client, ns, 'shop-frontend')).not.toContain('shop-frontend-1');

    const stop = await ringmaster(['node', 'stop', 'shop', 'frontend-1', ...kube, '-o', 'json']);
    expect(stop.code, stop.stderr).toBe(0);
    const stopName = (JSON.parse(stop.stdout) as { name: string }).name;
    await vi.waitFor(async () => expect((await getOp(client, ns, stopName)).status?.reason).toBe('AwaitingApproval'), wait);
    expect(await podOf(client, ns, 'shop-frontend-1')).toBeDefined();
    const approve = await ringmaster(['op', 'approve', stopName, ...kube]);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`approved NodeOperation ${ns}/${stopName}`);
    const status = await ringmaster(['op', 'status', stopName, '--wait', ...kube, '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'Succeeded', steps: [{ name: 'stop', phase: 'Succeeded' }] });
    expect(await podOf(client, ns, 'shop-frontend-1')).toBeUndefined();

    const start = await ringmaster(['node', 'start', 'shop', 'frontend-1', '--wait', ...kube]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toContain('Succeeded (2/2)');
    expect(await endpointPods(client, ns, 'shop-frontend')).toContain('shop-frontend-1');
  }, 300_000);
});
