// Drift in Argo CD mode on real Argo CD: an instance delivered through an Application, a named
// user's `kubectl edit` on the workload cluster, and what Ringmaster and Argo CD say about it.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARGOCD_NAMESPACE, auditLogPath, startLocalFleet, type KubeClient, type KubeObject, type LocalFleet } from '@ringmaster/kube';
import { edit, person, waitFor } from './helpers/drift.ts';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';

let fleet: LocalFleet;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: ['argo-1'] });
}, 600_000);

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

const DEV: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 10m }' }];
const ONE: ClusterDef[] = [{ name: 'argo-1', ring: 'dev', mode: 'argocd' }];
const IMAGE = 'spec.template.spec.containers[name=backend].image';

describe('drift in Argo CD mode on real Argo CD', () => {
  const prefix = `a${process.pid % 1000}`;
  const instance = `${prefix}-argo-1`;
  const appName = `argo-1--${instance}`;
  let repo: FleetRepo;
  let server: TestServer;
  let alice: KubeClient;
  let firstRelease: string;
  const backend = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: instance, name: 'backend' };
  const config = { apiVersion: 'v1', kind: 'ConfigMap', namespace: instance, name: 'appserver-config' };
  const application = async (): Promise<KubeObject> => (await fleet.management!.client.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: ARGOCD_NAMESPACE, name: appName }))!;
  const liveImage = async () => ((await fleet.cluster('argo-1').client.get(backend))?.spec as any).template.spec.containers[0].image as string;
  const fields = async () => ((await server.call('GET', `/api/v1/drift?instance=${instance}`)).body.instances[0]?.fields ?? []) as any[];
  const events = async (release: string) => (await server.call('GET', `/api/v1/releases/${release}/events`)).body.events as any[];
  const release = async (revision: string) => {
    const created = await server.call('POST', '/api/v1/releases', { body: { revision } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await waitFor('the release to finish', async () => {
      const r = (await server.call('GET', `/api/v1/releases/${created.body.id}`)).body;
      return ['succeeded', 'failed', 'halted', 'rolled_back'].includes(r.state) ? r : undefined;
    }, 300_000);
    expect(done.state, JSON.stringify(done.rings?.[0]?.waves)).toBe('succeeded');
    return done.id as string;
  };

  beforeAll(async () => {
    repo = new FleetRepo(prefix, DEV, ONE);
    repo.commit('one Argo CD-mode cluster');
    const remote = manifestRemote();
    const work = tempDir('work');
    const data = tempDir('data');
    server = await startTestServer({ dataDir: data }, {
      flighting: {
        fleetRepo: repo.dir, manifestRepo: { url: remote, argocdURL: `file://${remote}` }, workDir: work, timeScale: 0.1, pollIntervalMs: 100,
        access: { clusters: { 'argo-1': { kubeconfig: fleet.cluster('argo-1').kubeconfigPath } }, management: { kubeconfig: fleet.management!.kubeconfigPath } },
      },
      drift: { refreshMs: 500, healBackoffMs: 1000, auditLogs: { 'argo-1': auditLogPath(join(fleet.dir, 'argo-1')) } },
    });
    cleanup.push(async () => {
      await server.close();
      for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
    });
  }, 60_000);

  it("reports a named user's edit within 10 s with field, values, manager and user, as Argo CD's OutOfSync says; without selfHeal it stays", async () => {
    firstRelease = await release('main');
    // the fleet's drift policy (no selfHeal anywhere): Argo CD syncs new commits but leaves live edits alone
    // (Argo CD writes its Application back without a false selfHeal: absent is false)
    expect(((await application()).spec as any).syncPolicy.automated).toMatchObject({ prune: true });
    expect(((await application()).spec as any).syncPolicy.automated.selfHeal ?? false).toBe(false);
    alice = await person(fleet, 'argo-1', 'alice', instance);
    await edit(alice, backend, (o) => {
      o.spec.template.spec.containers[0].image = 'appserver:1.0.1-hotfix';
    });
    const found = await waitFor('the drift of the backend, with its user', async () => (await fields()).find((f) => f.path === IMAGE && f.user), 10_000);
    expect(found).toMatchObject({
      cluster: 'argo-1', instance, app: 'appserver', ring: 'dev', release: firstRelease, state: 'drifted',
      object: backend, desired: 'appserver:1.0.0', live: 'appserver:1.0.1-hotfix', manager: 'kubectl-edit', operation: 'Update', user: 'alice', userVerb: 'update',
    });
    // Ringmaster agrees with Argo CD: the Application is OutOfSync on exactly that Deployment
    const status = (await application()).status as any;
    expect(status.sync.status).toBe('OutOfSync');
    expect(status.resources.filter((r: any) => r.status === 'OutOfSync').map((r: any) => `${r.kind}/${r.name}`)).toEqual(['Deployment/backend']);
    expect((await fields()).map((f) => `${f.object.kind}/${f.object.name} ${f.path}`)).toEqual([`Deployment/backend ${IMAGE}`]);

    // Argo CD's self-heal would have undone it by now (it waits 5 s at most); the edit stays, and so does the report
    await sleep(8000);
    expect(await liveImage()).toBe('appserver:1.0.1-hotfix');
    expect((await fields()).map((f) => [f.path, f.live, f.user])).toEqual([[IMAGE, 'appserver:1.0.1-hotfix', 'alice']]);
    expect(((await application()).status as any).sync.status).toBe('OutOfSync');
  }, 400_000);

  it('heals on request by asking Argo CD to sync (an object deleted by hand too); the drift clears and the journey records the heal', async () => {
    // deleted by hand: Argo CD says Missing, Ringmaster reports it missing and who deleted it
    await alice.delete(config);
    const missing = await waitFor('the ConfigMap to be missing', async () => (await fields()).find((f) => f.object.kind === 'ConfigMap' && f.state === 'missing' && f.user), 30_000);
    expect(missing).toMatchObject({ path: '', user: 'alice', userVerb: 'delete' });
    const deployer = await server.token('deployer', { apps: ['appserver'] });
    const healed = await server.call('POST', `/api/v1/drift/${instance}/heal`, { body: { reason: 'undo the hot-fix' }, token: deployer });
    expect(healed.status, JSON.stringify(healed.body)).toBe(200);
    expect(healed.body).toMatchObject({ instance, cluster: 'argo-1', mode: 'argocd' });
    expect(healed.body.healed.map((f: any) => `${f.object.kind} ${f.state} ${f.path}`).sort()).toEqual(['ConfigMap missing ', `Deployment drifted ${IMAGE}`]);
    await waitFor('Argo CD to restore the image', async () => (await liveImage()) === 'appserver:1.0.0', 60_000);
    await waitFor('Argo CD to create the ConfigMap again', async () => !!(await fleet.cluster('argo-1').client.get(config)), 60_000);
    await waitFor('the Application to be Synced', async () => ((await application()).status as any)?.sync?.status === 'Synced', 60_000);
    await waitFor('the drift to clear', async () => (await fields()).length === 0, 30_000);
    const journey = await events(firstRelease);
    const heal = journey.find((e) => e.kind === 'drift' && e.status === 'healed')?.data;
    expect(heal).toMatchObject({ mode: 'argocd' });
    expect(heal.fields).toContainEqual(expect.objectContaining({ path: IMAGE, live: 'appserver:1.0.1-hotfix', user: 'alice' }));
    expect(journey.some((e) => e.kind === 'drift' && e.status === 'resolved')).toBe(true);
  }, 200_000);

  it("self-heals by ring policy: the Application's selfHeal follows a policy-only release, and the journey records the drift undone", async () => {
    repo.write('ringmaster.yaml', readFileSync(join(repo.dir, 'ringmaster.yaml'), 'utf8').replace('  - name: dev\n', '  - name: dev\n    drift: { selfHeal: true }\n'));
    const policyRelease = await release(repo.commit('dev self-heals drift'));
    // the release delivered nothing (the manifests are the same): the detector sets the Application's selfHeal
    await waitFor("the Application's selfHeal to follow the policy", async () => ((await application()).spec as any).syncPolicy.automated.selfHeal === true, 30_000);
    await edit(alice, backend, (o) => {
      o.spec.template.spec.containers[0].image = 'appserver:6.6.6';
    });
    const healed = await waitFor('the heal on the journey', async () => (await events(firstRelease)).find((e) => e.kind === 'drift' && e.status === 'healed' && e.data.by === 'policy'), 60_000);
    expect(healed.data).toMatchObject({ mode: 'argocd' });
    expect(healed.data.fields).toContainEqual(expect.objectContaining({ object: `Deployment ${instance}/backend`, path: IMAGE, live: 'appserver:6.6.6', desired: 'appserver:1.0.0' }));
    await waitFor('the live image restored', async () => (await liveImage()) === 'appserver:1.0.0', 60_000);
    await waitFor('the drift to clear', async () => (await fields()).length === 0, 60_000);
    expect(policyRelease).not.toBe(firstRelease);
  }, 400_000);
});
