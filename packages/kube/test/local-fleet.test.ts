// The local fleet's clusters are driven by the real controllers: kube-controller-manager makes
// ReplicaSets, Pods and EndpointSlices, kube-scheduler binds Pods to kwok's nodes, and kwok plays
// the kubelet. Nothing in these tests writes a status itself.
import { describe, expect, it } from 'vitest';
import { applyObjects, assessHealth, assessWorkloadPods, BAD_IMAGE_TAG, FAULT_ANNOTATION, HOLD_ANNOTATION, selectorString, type KubeClient, type KubeObject } from '../src/index.ts';
import { useLocalFleet } from './fleet-helpers.ts';

const fleet = useLocalFleet({ clusters: ['east', 'west'], management: false, nodes: 3, crashingImages: ['example.org/api:6.6.6'] });
let counter = 0;

async function namespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${++counter}`;
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

function deployment(ns: string, name: string, image: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      ...extra,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] } },
    },
  };
}

const service = (ns: string, name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});

async function live(client: KubeClient, apiVersion: string, kind: string, ns: string, name: string): Promise<KubeObject> {
  const obj = await client.get({ apiVersion, kind, namespace: ns, name });
  if (!obj) throw new Error(`${kind} ${ns}/${name} not found`);
  return obj;
}

type Owner = { kind: string; name: string };
const ownerOf = (o: KubeObject): Owner | undefined => (o.metadata.ownerReferences as Owner[] | undefined)?.[0];
type PodStatus = { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
const ready = (p: KubeObject) => ((p.status as PodStatus | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function readyEndpoints(client: KubeClient, ns: string, svc: string): Promise<{ ready: number; notReady: number }> {
  const slices = await client.list('discovery.k8s.io/v1', 'EndpointSlice', { namespace: ns, labelSelector: `kubernetes.io/service-name=${svc}` });
  const endpoints = slices.items.flatMap((s) => ((s as unknown as { endpoints?: { conditions?: { ready?: boolean } }[] }).endpoints ?? []));
  return { ready: endpoints.filter((e) => e.conditions?.ready === true).length, notReady: endpoints.filter((e) => e.conditions?.ready !== true).length };
}

describe('local fleet: real controllers and kwok nodes', { timeout: 180_000 }, () => {
  it('turns a Deployment Ready through its ReplicaSet and Pods scheduled on kwok nodes, and its Service gets ready endpoints', async () => {
    const east = fleet().cluster('east');
    const ns = await namespace(east.client, 'deploy');
    await applyObjects(east.client, [deployment(ns, 'web', 'example.org/web:1.0', 2), service(ns, 'web')]);

    await expect.poll(async () => assessHealth(await live(east.client, 'apps/v1', 'Deployment', ns, 'web')).status, { timeout: 120_000, interval: 500 }).toBe('Healthy');
    const sets = await east.client.list('apps/v1', 'ReplicaSet', { namespace: ns });
    expect(sets.items.map((rs) => ownerOf(rs)?.name)).toEqual(['web']);
    const pods = await east.client.list('v1', 'Pod', { namespace: ns });
    expect(pods.items).toHaveLength(2);
    for (const pod of pods.items) {
      expect(ownerOf(pod)).toMatchObject({ kind: 'ReplicaSet', name: sets.items[0]!.metadata.name });
      expect(east.nodes).toContain((pod.spec as { nodeName?: string }).nodeName);
      expect(ready(pod)).toBe(true);
    }
    await expect.poll(() => readyEndpoints(east.client, ns, 'web'), { timeout: 60_000, interval: 500 }).toEqual({ ready: 2, notReady: 0 });
  });

  it('rolls a StatefulSet out one ordinal at a time until every replica is Ready', async () => {
    const west = fleet().cluster('west');
    const ns = await namespace(west.client, 'sts');
    await applyObjects(west.client, [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: ns }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: ns },
        spec: {
          replicas: 3,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'example.org/db:16' }] } },
        },
      },
    ]);
    await expect.poll(async () => assessHealth(await live(west.client, 'apps/v1', 'StatefulSet', ns, 'db')).status, { timeout: 120_000, interval: 500 }).toBe('Healthy');
    const pods = (await west.client.list('v1', 'Pod', { namespace: ns })).items;
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(['db-0', 'db-1', 'db-2']);
    // OrderedReady: ordinal n+1 is created only after ordinal n is Ready
    const created = (n: string) => Date.parse(pods.find((p) => p.metadata.name === n)!.metadata.creationTimestamp!);
    expect(created('db-0')).toBeLessThanOrEqual(created('db-1'));
    expect(created('db-1')).toBeLessThanOrEqual(created('db-2'));
    expect(pods.every(ready)).toBe(true);
  });

  it(`never turns a Deployment of a :${BAD_IMAGE_TAG} image Ready: its Pods crash-loop and the Deployment turns Degraded at its deadline`, async () => {
    const east = fleet().cluster('east');
    const ns = await namespace(east.client, 'bad');
    await applyObjects(east.client, [deployment(ns, 'api', `example.org/api:${BAD_IMAGE_TAG}`, 2, { progressDeadlineSeconds: 5 }), service(ns, 'api')]);

    await expect.poll(async () => assessHealth(await live(east.client, 'apps/v1', 'Deployment', ns, 'api')), { timeout: 120_000, interval: 500 }).toMatchObject({
      status: 'Degraded',
      reason: expect.stringMatching(/progress deadline/),
    });
    const pods = (await east.client.list('v1', 'Pod', { namespace: ns })).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(ready(pod)).toBe(false);
      expect((pod.status as PodStatus).containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    }
    // the EndpointSlice controller follows the Pods: two endpoints, neither ready
    await expect.poll(() => readyEndpoints(east.client, ns, 'api'), { timeout: 60_000, interval: 500 }).toEqual({ ready: 0, notReady: 2 });
  });

  it('binds a StatefulSet\'s volume claims through the default StorageClass (the PV controller\'s hostPath provisioner)', async () => {
    const west = fleet().cluster('west');
    const ns = await namespace(west.client, 'pvc');
    await applyObjects(west.client, [{
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'cache', namespace: ns },
      spec: {
        replicas: 1,
        serviceName: 'cache',
        selector: { matchLabels: { app: 'cache' } },
        template: { metadata: { labels: { app: 'cache' } }, spec: { containers: [{ name: 'c', image: 'example.org/cache:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    }]);
    await expect.poll(async () => assessHealth(await live(west.client, 'apps/v1', 'StatefulSet', ns, 'cache')).status, { timeout: 120_000, interval: 500 }).toBe('Healthy');
    const claim = await live(west.client, 'v1', 'PersistentVolumeClaim', ns, 'data-cache-0');
    expect(claim.status).toMatchObject({ phase: 'Bound' });
    expect((claim.spec as { storageClassName?: string }).storageClassName).toBe('standard');
  });

  it('holds Pods with the hold annotation until it is removed, and crash-loops running Pods given the fault annotation', async () => {
    const east = fleet().cluster('east');
    const ns = await namespace(east.client, 'hold');
    const d = deployment(ns, 'slow', 'example.org/slow:1', 1);
    (d.spec as any).template.metadata.annotations = { [HOLD_ANNOTATION]: 'true' };
    await applyObjects(east.client, [d]);
    await expect.poll(async () => (await east.client.list('v1', 'Pod', { namespace: ns })).items.map((p) => (p.status as PodStatus).containerStatuses?.[0]?.state?.waiting?.reason), { timeout: 60_000, interval: 300 }).toEqual(['ContainerCreating']);
    expect(assessHealth(await live(east.client, 'apps/v1', 'Deployment', ns, 'slow')).status).toBe('Progressing');
    const [pod] = (await east.client.list('v1', 'Pod', { namespace: ns })).items;
    await east.client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod!.metadata.name! }, { metadata: { annotations: { [HOLD_ANNOTATION]: null } } });
    await expect.poll(async () => assessHealth(await live(east.client, 'apps/v1', 'Deployment', ns, 'slow')).status, { timeout: 60_000, interval: 300 }).toBe('Healthy');

    await east.client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod!.metadata.name! }, { metadata: { annotations: { [FAULT_ANNOTATION]: 'crash-loop' } } });
    await expect.poll(async () => (await live(east.client, 'v1', 'Pod', ns, pod!.metadata.name!)).status, { timeout: 60_000, interval: 300 }).toMatchObject({ containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
    // the Deployment itself only says "not available"; its Pods say why
    const live1 = await live(east.client, 'apps/v1', 'Deployment', ns, 'slow');
    await expect.poll(async () => assessHealth(await live(east.client, 'apps/v1', 'Deployment', ns, 'slow')).status, { timeout: 60_000, interval: 300 }).toBe('Progressing');
    const pods = await east.client.list('v1', 'Pod', { namespace: ns, labelSelector: selectorString((live1.spec as any).selector) });
    expect(assessWorkloadPods(live1, pods.items)).toMatchObject({ status: 'Degraded', reason: expect.stringMatching(/^pod slow-.*: container app: CrashLoopBackOff/) });
  });

  it('crash-loops the images it was told to (crashingImages), whatever their tag', async () => {
    const west = fleet().cluster('west');
    const ns = await namespace(west.client, 'crashing');
    await applyObjects(west.client, [deployment(ns, 'api', 'registry.example.net/example.org/api:6.6.6', 1), deployment(ns, 'ok', 'example.org/api:6.6.7', 1)]);
    await expect.poll(async () => (await west.client.list('v1', 'Pod', { namespace: ns, labelSelector: 'app=api' })).items.map((p) => (p.status as PodStatus).containerStatuses?.[0]?.state?.waiting?.reason), { timeout: 60_000, interval: 300 }).toEqual(['CrashLoopBackOff']);
    await expect.poll(async () => assessHealth(await live(west.client, 'apps/v1', 'Deployment', ns, 'ok')).status, { timeout: 60_000, interval: 300 }).toBe('Healthy');
  });

  it('keeps each cluster to itself: one etcd, a key prefix per cluster', async () => {
    const east = fleet().cluster('east');
    const west = fleet().cluster('west');
    const ns = await namespace(east.client, 'only-east');
    expect(await west.client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeUndefined();
    const nodes = (await west.client.list('v1', 'Node')).items.map((n) => n.metadata.name).sort();
    expect(nodes).toEqual(west.nodes);
  });
});
