import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalFleet, type KubeClient, type LocalFleet } from '@ringmaster/kube';
import { ANNOTATIONS, API_VERSION, silentLogger, startOperator, type AppCluster, type RunningOperator } from '@ringmaster/operator';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';

// The operator's own blast radius, end to end: AppClusters delivered by Ringmaster's releases to a
// canary and a prod cluster (real API servers, controllers, kwok), the real operator on each. A new
// operator version replaces no node by itself; a release that reaches canary and waits for
// approval before prod lets the new version replace canary's nodes only.

const CLUSTERS: ClusterDef[] = [
  { name: 'canary-7', ring: 'canary', mode: 'direct' },
  { name: 'prod-7', ring: 'prod', mode: 'direct' },
];
const rings = (prodApproval: 'auto' | 'manual'): RingDef[] => [
  { name: 'canary', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 10m }' },
  { name: 'prod', policy: `{ approval: ${prodApproval}, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 10m }` },
];
const prefix = `r${process.pid % 1000}`;
const wait = { timeout: 180_000, interval: 500 };

let fleet: LocalFleet | undefined;
let server: TestServer | undefined;
let repo: FleetRepo | undefined;
const operators = new Map<string, RunningOperator>();
const dirs: string[] = [];

const instanceOf = (cluster: string) => `${prefix}-${cluster}`;
const clientOf = (cluster: string): KubeClient => fleet!.cluster(cluster).client;
const appClusterOn = async (cluster: string) =>
  (await clientOf(cluster).get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: instanceOf(cluster), name: 'appserver' })) as AppCluster | undefined;
const podUids = async (cluster: string) => {
  const pods = await clientOf(cluster).list('v1', 'Pod', { namespace: instanceOf(cluster) });
  return Object.fromEntries(pods.items.map((p) => [p.metadata.name!, p.metadata.uid!]));
};

function writeApp(replicas: number): void {
  rmSync(join(repo!.dir, 'apps', 'appserver', 'manifests'), { recursive: true, force: true });
  repo!.write('apps/appserver/app.yaml', [
    'apiVersion: ringmaster.dev/v1alpha1', 'kind: App', 'name: appserver', 'team: platform',
    'source: { type: manifests, path: manifests }', 'namespace: ${instance.name}',
    'values:', '  image: { repository: registry.local/appserver, tag: "1.0.0" }', `  frontend: { replicas: ${replicas} }`, '',
  ].join('\n'));
  repo!.write('apps/appserver/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
  repo!.write('apps/appserver/manifests/appcluster.yaml', [
    'apiVersion: ringmaster.dev/v1alpha1', 'kind: AppCluster', 'metadata:', '  name: appserver', 'spec:', '  updatePolicy: onRelease',
    '  cache: { builder: synchronizer, stopBuilderWhenReady: true }', '  roles:',
    '    - { name: synchronizer, replicas: 1, image: "${image.repository}:${image.tag}" }',
    '    - { name: backend, replicas: 1, image: "${image.repository}:${image.tag}" }',
    '    - name: frontend', '      replicas: ${frontend.replicas}', '      image: "${image.repository}:${image.tag}"', '',
  ].join('\n'));
}

async function runOperators(revision: string): Promise<void> {
  for (const [, op] of operators) await op.stop();
  operators.clear();
  for (const c of CLUSTERS) {
    const template = revision === '1' ? undefined : { revision, cacheInitImage: `ringmaster.dev/cache-init:${revision}` };
    const op = await startOperator({ client: clientOf(c.name), leaseNamespace: 'default', leaseName: 'operator-release-test', identity: `${c.name}-v${revision}`, logger: silentLogger, recheckMs: 500, ...(template ? { template } : {}) });
    await op.leading;
    operators.set(c.name, op);
  }
}

async function releaseUntil(revision: string, state: string) {
  const created = await server!.call('POST', '/api/v1/releases', { body: { revision } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return vi.waitFor(async () => {
    const r = (await server!.call('GET', `/api/v1/releases/${created.body.id}`)).body;
    expect(r.state, JSON.stringify(r.rings)).toBe(state);
    return r as { id: string; rings: Array<{ state: string }> };
  }, wait);
}

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: CLUSTERS.map((c) => c.name), management: false });
  await runOperators('1'); // installs the CRDs, so the first release can deliver AppClusters
  repo = new FleetRepo(prefix, rings('auto'), CLUSTERS);
  writeApp(1);
  repo.commit('appserver as an AppCluster');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  dirs.push(repo.dir, remote, work, data);
  server = await startTestServer({ dataDir: data }, {
    flighting: {
      fleetRepo: repo.dir, manifestRepo: { url: remote }, workDir: work, timeScale: 0.1, pollIntervalMs: 100,
      access: { kubeconfig: fleet.kubeconfigPath, clusters: Object.fromEntries(CLUSTERS.map((c) => [c.name, { kubeconfig: fleet!.cluster(c.name).kubeconfigPath }])) },
    },
    drift: { enabled: false },
  });
}, 400_000);

afterAll(async () => {
  await server?.close().catch(() => undefined);
  for (const op of operators.values()) await op.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await fleet?.stop();
}, 120_000);

describe('an operator upgrade through the fleet', () => {
  it('replaces nodes only on the instances a release has reached', async () => {
    const first = await releaseUntil('main', 'succeeded');
    for (const c of CLUSTERS) {
      const app = await vi.waitFor(async () => {
        const a = (await appClusterOn(c.name))!;
        expect(a.status?.conditions?.find((x) => x.type === 'Ready')?.status, c.name).toBe('True');
        return a;
      }, wait);
      // delivery wrote the release on the AppCluster: what lets an onRelease AppCluster take a newer operator
      expect(app.metadata.annotations?.[ANNOTATIONS.release]).toBe(first.id);
    }
    const before = { canary: await podUids('canary-7'), prod: await podUids('prod-7') };
    expect(Object.keys(before.canary).sort()).toEqual(['appserver-backend-0', 'appserver-frontend-0']); // the synchronizer stopped once its cache was ready

    // a new operator version everywhere: nothing restarts, every node says an update is pending
    await runOperators('2');
    for (const c of CLUSTERS) {
      await vi.waitFor(async () => expect((await appClusterOn(c.name))!.status?.nodes?.find((n) => n.name === 'backend-0')?.updatePending, c.name).toBe(true), wait);
      await operators.get(c.name)!.controller()!.queue.idle();
    }
    expect(await podUids('canary-7')).toEqual(before.canary);
    expect(await podUids('prod-7')).toEqual(before.prod);

    // a release that reaches canary and waits for approval before prod
    repo!.write('ringmaster.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: test\nrings:\n${rings('manual').map((r) => `  - name: ${r.name}\n    policy: ${r.policy}\n`).join('')}regions:\n  - name: eu\n`);
    writeApp(2);
    const rev = repo!.commit('two frontends; prod needs an approval');
    const second = await releaseUntil(rev, 'waiting_for_approval');
    expect(second.rings.map((r) => r.state)).toEqual(['succeeded', 'waiting_for_approval']);

    const canary = await vi.waitFor(async () => {
      const a = (await appClusterOn('canary-7'))!;
      expect(a.status).toMatchObject({ operatorRevision: '2', acceptedRelease: second.id });
      expect(a.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      const now = await podUids('canary-7');
      for (const [name, uid] of Object.entries(before.canary)) expect(now[name], name).not.toBe(uid);
      return a;
    }, wait);
    expect(canary.metadata.annotations?.[ANNOTATIONS.release]).toBe(second.id);

    await operators.get('prod-7')!.controller()!.queue.idle();
    const prod = (await appClusterOn('prod-7'))!;
    expect(prod.metadata.annotations?.[ANNOTATIONS.release]).toBe(first.id);
    expect(prod.status?.operatorRevision).toBe('1');
    expect(await podUids('prod-7')).toEqual(before.prod);
  }, 600_000);
});
