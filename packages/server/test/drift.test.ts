import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogPath, startLocalFleet, type KubeClient, type LocalFleet } from '@ringmaster/kube';
import { edit, person, waitFor } from './helpers/drift.ts';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, git, manifestRemote, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';
import type { ServerOptions } from '../src/index.ts';

let fleet: LocalFleet;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: ['dev-1'], management: false });
}, 300_000);

afterAll(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
  await fleet?.stop();
}, 60_000);

const DEV: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 2m }' }];
const ONE: ClusterDef[] = [{ name: 'dev-1', ring: 'dev', mode: 'direct' }];

const APP = (drift: string) => `apiVersion: ringmaster.dev/v1alpha1
kind: App
name: appserver
team: platform
source: { type: manifests, path: manifests }
namespace: \${instance.name}
roles: [synchronizer, backend, frontend]
values:
  image: { repository: appserver, tag: "1.0.0" }
  logLevel: info
${drift}`;

// the frontend scales through a HorizontalPodAutoscaler (minReplicas 2): its replicas belong to kube-controller-manager
const HPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: frontend
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: frontend }
  minReplicas: 2
  maxReplicas: 3
  metrics:
    - type: Resource
      resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } }
`;

describe('drift on the real local cluster', () => {
  const prefix = `d${process.pid % 1000}`;
  const instance = `${prefix}-dev-1`;
  let repo: FleetRepo;
  let remote: string;
  let work: string;
  let data: string;
  let server: TestServer;
  const options = (): ServerOptions => ({
    flighting: {
      fleetRepo: repo.dir, manifestRepo: { url: remote }, workDir: work, timeScale: 0.1, pollIntervalMs: 100,
      access: { kubeconfig: fleet.kubeconfigPath, clusters: { 'dev-1': { kubeconfig: fleet.cluster('dev-1').kubeconfigPath } } },
    },
    drift: { refreshMs: 500, healBackoffMs: 1000, auditLogs: { 'dev-1': auditLogPath(join(fleet.dir, 'dev-1')) } },
  });
  const release = async (revision: string) => {
    const created = await server.call('POST', '/api/v1/releases', { body: { revision } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await waitFor('the release to finish', async () => {
      const r = (await server.call('GET', `/api/v1/releases/${created.body.id}`)).body;
      return ['succeeded', 'failed', 'halted', 'rolled_back'].includes(r.state) ? r : undefined;
    }, 120_000);
    expect(done.state, JSON.stringify(done.rings?.[0]?.waves)).toBe('succeeded');
    return done.id as string;
  };
  const drift = async () => (await server.call('GET', `/api/v1/drift?instance=${instance}`)).body;
  const fields = async () => ((await drift()).instances[0]?.fields ?? []) as any[];
  const deployment = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: instance, name });
  const config = { apiVersion: 'v1', kind: 'ConfigMap', namespace: instance, name: 'appserver-config' };

  beforeAll(async () => {
    repo = new FleetRepo(prefix, DEV, ONE);
    repo.write('apps/appserver/app.yaml', APP('drift:\n  ignore:\n    - kind: ConfigMap\n      jsonPointers: [/data/CACHE_SIZE]\n'));
    repo.write('apps/appserver/manifests/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: appserver-config\ndata:\n  LOG_LEVEL: ${logLevel}\n  CACHE_SIZE: 1Gi\n');
    repo.write('apps/appserver/manifests/hpa.yaml', HPA);
    repo.commit('fleet with an HPA and an ignore rule');
    remote = manifestRemote();
    work = tempDir('work');
    data = tempDir('data');
    server = await startTestServer({ dataDir: data }, options());
    cleanup.push(async () => {
      await server.close();
      for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
    });
  }, 60_000);

  let alice: KubeClient;
  let firstRelease: string;
  let adoptRelease: string;

  it("reports a named user's edit of a delivered Deployment with field, values, manager and user; not the HPA's replicas nor an ignored field", async () => {
    firstRelease = await release('main');
    const admin = fleet.cluster('dev-1').client;
    // the real HPA controller scaled the frontend: replicas owned by kube-controller-manager
    await waitFor('the HPA to scale the frontend', async () => ((await admin.get(deployment('frontend')))?.spec as any)?.replicas === 2);
    alice = await person(fleet, 'dev-1', 'alice', instance);
    await edit(alice, deployment('backend'), (o) => {
      o.spec.template.spec.containers[0].image = 'appserver:1.0.1-hotfix';
    });
    await edit(alice, config, (o) => {
      o.data.CACHE_SIZE = '4Gi';
    });
    // the bound: visible within 10 s
    const found = await waitFor('the drift of the backend', async () => {
      const f = await fields();
      return f.find((x) => x.path === 'spec.template.spec.containers[name=backend].image' && x.user) ?? undefined;
    }, 10_000);
    expect(found).toMatchObject({
      cluster: 'dev-1', instance, app: 'appserver', ring: 'dev', release: firstRelease, state: 'drifted',
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: instance, name: 'backend' },
      desired: 'appserver:1.0.0', live: 'appserver:1.0.1-hotfix', manager: 'kubectl-edit', operation: 'Update', user: 'alice', userVerb: 'update',
    });
    expect(found.changedAt).toMatch(/^\d{4}-/);
    const all = await fields();
    // only the backend's image: the HPA-owned replicas and the ignored CACHE_SIZE are not drift
    expect(all.map((f) => `${f.object.kind}/${f.object.name} ${f.path}`)).toEqual(['Deployment/backend spec.template.spec.containers[name=backend].image']);
    expect((await server.call('GET', '/metrics')).body).toMatch(/ringmaster_drift_objects\{app="appserver",cluster="dev-1"\} 1/);
    // the dashboard's fleet matrix marks the instance drifted
    const matrix = (await server.call('GET', '/api/v1/dashboard/fleet')).body;
    const row = matrix.clusters.find((c: any) => c.cluster === 'dev-1');
    expect(row.drifted).toBe(1);
    expect(row.cells.appserver.instances.find((i: any) => i.instance === instance).drift).toBe(true);
    // the journey of the release shows the detection
    const events = (await server.call('GET', `/api/v1/releases/${firstRelease}/events`)).body.events;
    expect(events.some((e: any) => e.kind === 'drift' && e.status === 'detected' && e.data.fields.some((f: any) => f.user === 'alice'))).toBe(true);
  }, 200_000);

  it('reports an object deleted by hand as missing, and keeps drift across a restart of the server', async () => {
    await alice.delete(config);
    const missing = await waitFor('the ConfigMap to be missing', async () => (await fields()).find((f) => f.object.kind === 'ConfigMap' && f.state === 'missing' && f.user));
    expect(missing).toMatchObject({ path: '', user: 'alice', userVerb: 'delete' });

    await server.close();
    server = await startTestServer({ dataDir: data }, options());
    // stored: there at once, before the new detector looked at anything
    expect((await fields()).map((f) => `${f.object.kind} ${f.state}`).sort()).toEqual(['ConfigMap missing', 'Deployment drifted']);
    // found again by the new detector, not lost
    await waitFor('the new detector to evaluate every object', async () => (await drift()).detection.evaluations >= 6);
    expect((await fields()).map((f) => `${f.object.kind} ${f.state} ${f.user}`).sort()).toEqual(['ConfigMap missing alice', 'Deployment drifted alice']);
  }, 120_000);

  it('heals on request (role-checked, audited) and clears the drift once resolved', async () => {
    const viewer = await server.token('viewer');
    const denied = await server.call('POST', `/api/v1/drift/${instance}/heal`, { body: {}, token: viewer });
    expect(denied.status).toBe(403);
    const other = await server.token('deployer', { apps: ['billing'] });
    expect((await server.call('POST', `/api/v1/drift/${instance}/heal`, { body: {}, token: other })).status).toBe(403);
    expect((await server.call('GET', '/api/v1/drift', { token: other })).body.instances).toEqual([]);
    const deployer = await server.token('deployer', { apps: ['appserver'] });
    const healed = await server.call('POST', `/api/v1/drift/${instance}/heal`, { body: { reason: 'undo the hot-fix' }, token: deployer });
    expect(healed.status, JSON.stringify(healed.body)).toBe(200);
    expect(healed.body.healed.map((f: any) => f.object.kind).sort()).toEqual(['ConfigMap', 'Deployment']);
    const admin = fleet.cluster('dev-1').client;
    expect(((await admin.get(deployment('backend')))?.spec as any).template.spec.containers[0].image).toBe('appserver:1.0.0');
    expect(await admin.get(config)).toBeDefined();
    await waitFor('the drift to clear', async () => (await drift()).instances.length === 0);
    expect((await server.call('GET', '/metrics')).body).not.toMatch(/ringmaster_drift_objects\{app="appserver"/);
    expect((await server.call('GET', '/api/v1/dashboard/fleet')).body.clusters.find((c: any) => c.cluster === 'dev-1').drifted).toBe(0);
    const audit = (await server.call('GET', '/api/v1/audit?limit=20')).body.entries;
    expect(audit.find((a: any) => a.action === 'POST /api/v1/drift/:instance/heal' && a.result === 'ok')).toMatchObject({ target: `instance/${instance}`, details: { action: 'heal', reason: 'undo the hot-fix' } });
    expect(audit.some((a: any) => a.action === 'POST /api/v1/drift/:instance/heal' && a.result === 'denied')).toBe(true);
  }, 120_000);

  it('answers bad adopt and heal calls with the field and reason', async () => {
    const bad = await server.call('POST', '/api/v1/drift/Not_A_Name/adopt', { body: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('instance');
    const unknown = await server.call('POST', '/api/v1/drift/nobody-here/heal', { body: {} });
    expect(unknown.status).toBe(404);
    const field = await server.call('POST', `/api/v1/drift/${instance}/adopt`, { body: { bsae: 'main' } });
    expect(field.status).toBe(400);
    expect(field.body.error.field).toBe('bsae');
    const option = await server.call('POST', `/api/v1/drift/${instance}/adopt`, { body: { base: '--output=/tmp/x' } });
    expect(option.status).toBe(400);
    expect(option.body.error.field).toBe('base');
    const nothing = await server.call('POST', `/api/v1/drift/${instance}/adopt`, { body: {} });
    expect(nothing.status).toBe(409);
  });

  it('adopts a hot-fix as a fleet commit at the right layer whose plan shows exactly that change; released, no drift remains', async () => {
    await edit(alice, deployment('backend'), (o) => {
      o.spec.template.spec.containers[0].image = 'appserver:1.0.1-hotfix';
      o.spec.replicas = 2;
    });
    await edit(alice, config, (o) => {
      o.data.LOG_LEVEL = 'debug';
    });
    await waitFor('three fields to drift', async () => (await fields()).length === 3);
    const head = git(repo.dir, 'rev-parse', 'HEAD');
    const adopted = await server.call('POST', `/api/v1/drift/${instance}/adopt`, { body: { reason: 'keep the hot-fix of INC-42' } });
    expect(adopted.status, JSON.stringify(adopted.body)).toBe(200);
    const r = adopted.body;
    expect(r.base).toBe(head);
    expect(r.branch).toBe(`ringmaster/adopt/${instance}-${r.commit.slice(0, 8)}`);
    // LOG_LEVEL is rendered from the value logLevel alone: an instance value. The replicas are written in the
    // manifest, and the image tag value feeds every role: instance patches of exactly those fields
    expect(r.changes).toEqual([
      expect.objectContaining({ object: `ConfigMap ${instance}/appserver-config`, path: 'data.LOG_LEVEL', layer: 'value', value: { path: 'logLevel', from: 'info', to: 'debug' } }),
      expect.objectContaining({ path: 'spec.replicas', layer: 'patch', desired: 1, live: 2, patch: { target: { group: 'apps', kind: 'Deployment', name: 'backend', namespace: instance }, patch: { spec: { replicas: 2 } } } }),
      expect.objectContaining({ path: 'spec.template.spec.containers[name=backend].image', layer: 'patch', patch: { target: { group: 'apps', kind: 'Deployment', name: 'backend', namespace: instance }, patch: { spec: { template: { spec: { containers: [{ name: 'backend', image: 'appserver:1.0.1-hotfix' }] } } } } } }),
    ]);
    // the plan: two objects of one instance change, by exactly those three lines
    expect(r.plan.summary, r.planText).toMatchObject({ instances: 1, objects: { create: 0, update: 2, delete: 0 } });
    const changed = r.planText.split('\n').filter((l: string) => /^\s*[+-]/.test(l) && !/^\s*(\+\+\+|---)/.test(l)).map((l: string) => l.trim());
    expect(changed, r.planText).toEqual(expect.arrayContaining(['-  LOG_LEVEL: info', '+  LOG_LEVEL: debug', '-  replicas: 1', '+  replicas: 2']));
    expect(changed.filter((l: string) => l.startsWith('+')), r.planText).toHaveLength(3);
    // the commit is on its own branch; the work tree and main are untouched
    expect(git(repo.dir, 'rev-parse', 'main')).toBe(head);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
    const file = git(repo.dir, 'show', `${r.commit}:instances/all.yaml`);
    expect(file).toContain('logLevel: debug');
    expect(git(repo.dir, 'log', '-1', '--format=%B', r.commit)).toContain('keep the hot-fix of INC-42');
    expect(readFileSync(join(repo.dir, 'instances/all.yaml'), 'utf8')).not.toContain('debug');

    adoptRelease = await release(r.commit);
    await waitFor('no drift to remain', async () => (await drift()).instances.length === 0, 30_000);
  }, 200_000);

  it('self-heals by ring policy and records on the journey the drift it undid', async () => {
    git(repo.dir, 'checkout', '-q', `ringmaster/adopt/${instance}-${(await latestAdopt()).slice(0, 8)}`);
    const ringmaster = readFileSync(join(repo.dir, 'ringmaster.yaml'), 'utf8').replace('  - name: dev\n', '  - name: dev\n    drift: { selfHeal: true }\n');
    repo.write('ringmaster.yaml', ringmaster);
    const rev = repo.commit('dev self-heals drift');
    // the drift is there before the policy: turning self-heal on heals what is already drifted
    await edit(alice, deployment('backend'), (o) => {
      o.spec.template.spec.containers[0].image = 'appserver:6.6.6';
    });
    // attributed to alice: the detector has looked at it for the last time (no audit retry is pending)
    await waitFor('the edit to drift, attributed', async () => (await fields()).some((f) => f.live === 'appserver:6.6.6' && f.user === 'alice'));
    const rel = await release(rev);
    const admin = fleet.cluster('dev-1').client;
    // the policy release delivered nothing new (same manifests): the instance still runs the adopt release's render
    const healed = await waitFor('the heal on the journey', async () => {
      const events = [
        ...(await server.call('GET', `/api/v1/releases/${rel}/events`)).body.events,
        ...(await server.call('GET', `/api/v1/releases/${adoptRelease}/events`)).body.events,
      ];
      return events.find((e: any) => e.kind === 'drift' && e.status === 'healed');
    }, 30_000);
    expect(healed.data).toMatchObject({ by: 'policy', mode: 'direct' });
    expect(healed.data.fields).toContainEqual(expect.objectContaining({ object: `Deployment ${instance}/backend`, path: 'spec.template.spec.containers[name=backend].image', live: 'appserver:6.6.6', desired: 'appserver:1.0.1-hotfix', user: 'alice' }));
    await waitFor('the live image restored', async () => ((await admin.get(deployment('backend')))?.spec as any).template.spec.containers[0].image === 'appserver:1.0.1-hotfix');
    await waitFor('the drift to clear', async () => (await drift()).instances.length === 0, 30_000);
  }, 200_000);

  async function latestAdopt(): Promise<string> {
    return git(repo.dir, 'for-each-ref', '--format=%(objectname)', '--sort=-committerdate', '--count=1', 'refs/heads/ringmaster/adopt/');
  }
});
