// Real Argo CD (application-controller + repo-server + Redis) syncs Applications from a file://
// bare repository to a workload cluster of the local fleet; its health comes from its own assessment
// of objects the real controllers and kwok drive.
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_CLUSTER_HEALTH_KEY, ARGOCD_NAMESPACE, BAD_IMAGE_TAG, assessHealth, requestRefresh, type KubeObject } from '../src/index.ts';
import { useLocalFleet } from './fleet-helpers.ts';
import { alive } from './process-helpers.ts';
import { ManifestRepo } from './manifest-repo.ts';

// the default poll (180 s): a test that finishes well before it proves the refresh did the work;
// the real operator (`ringmaster operator`, a process outside the cluster) runs east's AppClusters
const CLI = fileURLToPath(new URL('../../cli/bin/ringmaster.js', import.meta.url));
const fleet = useLocalFleet({ clusters: ['east'], management: 'mgmt', nodes: 2, operator: { command: process.execPath, args: [CLI, 'operator'] } });
const repo = new ManifestRepo();
afterAll(() => repo.remove());

const deploymentYaml = (name: string, image: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  progressDeadlineSeconds: 10
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: app
        image: ${image}
`;

const appClusterYaml = (name: string, image: string) => `apiVersion: ringmaster.dev/v1alpha1
kind: AppCluster
metadata:
  name: ${name}
spec:
  roles:
  - name: web
    replicas: 2
    image: ${image}
    ports: [{ name: http, port: 8080 }]
`;

function application(name: string, path: string, namespace: string): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: ARGOCD_NAMESPACE },
    spec: {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path },
      destination: { name: 'east', namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    },
  };
}

type AppStatus = { sync?: { status?: string; revision?: string }; health?: { status?: string; message?: string }; resources?: { kind: string; health?: { status?: string; message?: string } }[] };
async function appStatus(name: string): Promise<AppStatus> {
  const app = await fleet().management!.client.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: ARGOCD_NAMESPACE, name });
  return (app?.status ?? {}) as AppStatus;
}
const summary = (s: AppStatus) => ({ sync: s.sync?.status, revision: s.sync?.revision, health: s.health?.status });

describe('real Argo CD on the local fleet', { timeout: 240_000 }, () => {
  it('runs Argo CD with its own CRDs and the workload cluster registered as a cluster Secret', async () => {
    const mgmt = fleet().management!;
    const crd = await mgmt.client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'applications.argoproj.io' });
    // the real CRD carries Argo CD's schema, not the open one of the minimal stand-in CRDs
    const schema = (crd?.spec as { versions: { schema: { openAPIV3Schema: { properties?: Record<string, unknown> } } }[] }).versions[0]!.schema.openAPIV3Schema;
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['spec', 'status', 'operation']));
    const secrets = await mgmt.client.list('v1', 'Secret', { namespace: ARGOCD_NAMESPACE, labelSelector: 'argocd.argoproj.io/secret-type=cluster' });
    expect(secrets.items.map((s) => s.metadata.name)).toEqual(['cluster-east']);
    expect(fleet().versions.argocd).toBe('v2.14.21');
  });

  it('syncs an Application from a bare repository commit and reports Synced and Healthy once the real Pods are Ready', async () => {
    const first = repo.commit({ 'east/web/deployment.yaml': deploymentYaml('web', 'example.org/web:1.0', 2) }, 'web 1.0');
    await fleet().management!.client.apply(application('east-web', 'east/web', 'web'), { fieldManager: 'test', force: true });
    await expect.poll(async () => summary(await appStatus('east-web')), { timeout: 180_000, interval: 500 }).toEqual({ sync: 'Synced', revision: first, health: 'Healthy' });
    const live = await fleet().cluster('east').client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' });
    expect(assessHealth(live!).status).toBe('Healthy');
    expect((live!.status as { readyReplicas?: number }).readyReplicas).toBe(2);
  });

  it('takes a new commit at once when asked to refresh, instead of waiting for its three-minute poll', async () => {
    await expect.poll(async () => summary(await appStatus('east-web')).health, { timeout: 180_000, interval: 500 }).toBe('Healthy');
    const second = repo.commit({ 'east/web/deployment.yaml': deploymentYaml('web', 'example.org/web:1.1', 3) }, 'web 1.1');
    expect(await requestRefresh(fleet().management!.client, { namespace: ARGOCD_NAMESPACE, name: 'east-web' })).toBe(true);
    // well under the 180 s poll: only the refresh can make this happen in time
    await expect.poll(async () => summary(await appStatus('east-web')), { timeout: 90_000, interval: 250 }).toEqual({ sync: 'Synced', revision: second, health: 'Healthy' });
    const live = await fleet().cluster('east').client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' });
    expect((live!.status as { readyReplicas?: number }).readyReplicas).toBe(3);
  });

  it(`reports Degraded from its own health assessment when the release's Pods crash-loop (a :${BAD_IMAGE_TAG} image)`, async () => {
    const bad = repo.commit({ 'east/api/deployment.yaml': deploymentYaml('api', `example.org/api:${BAD_IMAGE_TAG}`, 2) }, 'api bad');
    await fleet().management!.client.apply(application('east-api', 'east/api', 'api'), { fieldManager: 'test', force: true });
    await expect.poll(async () => summary(await appStatus('east-api')), { timeout: 180_000, interval: 500 }).toEqual({ sync: 'Synced', revision: bad, health: 'Degraded' });
  });

  it('assesses an AppCluster from its conditions (the health customization in argocd-cm): Healthy once the operator has it Ready, Degraded when its nodes crash-loop', async () => {
    const cm = await fleet().management!.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ARGOCD_NAMESPACE, name: 'argocd-cm' });
    expect((cm!.data as Record<string, string>)[APP_CLUSTER_HEALTH_KEY]).toContain('Degraded');
    const good = repo.commit({ 'east/shop/appcluster.yaml': appClusterYaml('shop', 'example.org/shop:1.0'), 'east/shop-bad/appcluster.yaml': appClusterYaml('shop', `example.org/shop:${BAD_IMAGE_TAG}`) }, 'shop');
    const apps = fleet().management!.client;
    await apps.apply(application('east-shop', 'east/shop', 'shop'), { fieldManager: 'test', force: true });
    await apps.apply(application('east-shop-bad', 'east/shop-bad', 'shop-bad'), { fieldManager: 'test', force: true });
    await expect.poll(async () => summary(await appStatus('east-shop')), { timeout: 180_000, interval: 500 }).toEqual({ sync: 'Synced', revision: good, health: 'Healthy' });
    const resource = (s: AppStatus) => s.resources?.find((r) => r.kind === 'AppCluster')?.health;
    expect(resource(await appStatus('east-shop'))).toEqual({ status: 'Healthy', message: '2 nodes Ready' });
    const live = await fleet().cluster('east').client.get({ apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', namespace: 'shop', name: 'shop' });
    expect(assessHealth(live!)).toEqual({ status: 'Healthy', reason: '2 nodes Ready' });
    // the operator's Degraded condition, as Argo CD reads it (Ringmaster then reads Argo CD's verdict)
    await expect.poll(async () => summary(await appStatus('east-shop-bad')).health, { timeout: 180_000, interval: 500 }).toBe('Degraded');
    expect(resource(await appStatus('east-shop-bad'))?.message).toMatch(/^web-\d: container .*CrashLoopBackOff/);
    const bad = await fleet().cluster('east').client.get({ apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', namespace: 'shop-bad', name: 'shop' });
    expect(assessHealth(bad!).status).toBe('Degraded');
  });

  it('runs the operator as a process of the fleet, which can be killed and started again', async () => {
    const before = fleet().operatorOf('east')!;
    expect(alive(before.pid)).toBe(true);
    expect(fleet().versions.operators).toBe(1);
    await fleet().stopOperator('east', { kill: true });
    expect(alive(before.pid)).toBe(false);
    expect(fleet().operatorOf('east')).toBeUndefined();
    await fleet().startOperator('east');
    const after = fleet().operatorOf('east')!;
    expect(after.pid).not.toBe(before.pid);
    // the new process takes the Lease once the killed one's has expired, and goes on reconciling
    const client = fleet().cluster('east').client;
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'after-restart' } }, { fieldManager: 'test', force: true });
    await client.apply({ apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', metadata: { name: 'late', namespace: 'after-restart' }, spec: { roles: [{ name: 'web', replicas: 1, image: 'example.org/late:1.0' }] } }, { fieldManager: 'test', force: true });
    await expect.poll(async () => assessHealth(await client.get({ apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', namespace: 'after-restart', name: 'late' })), { timeout: 120_000, interval: 500 }).toEqual({ status: 'Healthy', reason: '1 nodes Ready' });
  });

  it('refuses to refresh an Application that does not exist', async () => {
    expect(await requestRefresh(fleet().management!.client, { namespace: ARGOCD_NAMESPACE, name: 'no-such-app' })).toBe(false);
  });
});
