// Faults of the real parts, on a local fleet of its own (the shared one keeps serving other files):
// Argo CD's application-controller stopped while a release waits on it, and one cluster's
// kube-apiserver stopped while a ring delivers to it and to another cluster.
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalFleet, type LocalFleet } from '@ringmaster/kube';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestCommits, manifestRemote, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';

let fleet: LocalFleet;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: ['fa-1', 'fd-1', 'fd-2'], nodes: 1 });
}, 600_000);

afterAll(async () => {
  for (const fn of cleanup.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  await fleet?.stop();
}, 60_000);

let seq = 0;

async function setup(ringDefs: RingDef[], clusters: ClusterDef[]): Promise<{ server: TestServer; remote: string; prefix: string }> {
  const prefix = `f${process.pid % 1000}x${++seq}`;
  const repo = new FleetRepo(prefix, ringDefs, clusters);
  repo.commit('initial fleet');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  const server = await startTestServer({ dataDir: data }, {
    flighting: {
      fleetRepo: repo.dir, manifestRepo: { url: remote, argocdURL: `file://${remote}` }, workDir: work,
      access: { kubeconfig: fleet.kubeconfigPath, management: { context: 'management' } }, timeScale: 0.1, pollIntervalMs: 100,
    },
  });
  cleanup.push(async () => {
    await server.close();
    for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
  });
  return { server, remote, prefix };
}

const release = async (server: TestServer, id: string) => (await server.call('GET', `/api/v1/releases/${id}`)).body;
const clustersOf = (rel: any) => rel.rings.flatMap((r: any) => r.waves.flatMap((w: any) => w.clusters));
const TERMINAL = ['succeeded', 'halted', 'failed', 'rolled_back', 'aborted'];

describe('faults of the real parts', () => {
  it('waits while Argo CD\'s controller is down and finishes once it is back', async () => {
    const { server, remote, prefix } = await setup([{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, progressDeadline: 10m }' }], [{ name: 'fa-1', ring: 'dev', mode: 'argocd' }]);
    await fleet.argocd!.stopController();
    let restarted = false;
    cleanup.push(async () => {
      if (!restarted) await fleet.argocd!.startController();
    });
    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    // the Application is written, Argo CD does not act on it: the step waits, it does not fail
    await expect.poll(async () => clustersOf(await release(server, rel.id))[0].phase, { timeout: 60_000, interval: 200 }).toBe('observe');
    await sleep(8_000);
    const waiting = clustersOf(await release(server, rel.id))[0];
    expect(waiting.state).toBe('in_progress');
    expect(waiting.reason).toMatch(new RegExp(`^Application fa-1--${prefix}-fa-1 (is not synced yet|is OutOfSync|health is)`));

    await fleet.argocd!.startController();
    restarted = true;
    await expect.poll(async () => (await release(server, rel.id)).state, { timeout: 120_000, interval: 500 }).toBe('succeeded');
    const app = await fleet.management!.client.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: `fa-1--${prefix}-fa-1` });
    const commit = manifestCommits(remote).find((c) => c.release === rel.id)!.sha;
    expect((app?.status as any).sync).toMatchObject({ status: 'Synced', revision: commit });
    expect((app?.status as any).health.status).toBe('Healthy');
  }, 240_000);

  it('fails the cluster whose API server is down at its deadline; the other cluster of the wave and the next ring go on', async () => {
    const rings: RingDef[] = [
      { name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 1, autoRollback: false, progressDeadline: 2m }' },
      { name: 'prod', policy: '{ approval: auto, soak: 1s, maxFailures: 0, progressDeadline: 10m }' },
    ];
    const { server, prefix } = await setup(rings, [
      { name: 'fd-1', ring: 'dev', mode: 'direct' },
      { name: 'fd-2', ring: 'dev', mode: 'direct' },
      { name: 'fa-1', ring: 'prod', mode: 'argocd' },
    ]);
    await fleet.stopApiServer('fd-2');
    let restarted = false;
    cleanup.push(async () => {
      if (!restarted) await fleet.startApiServer('fd-2');
    });
    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    await expect.poll(async () => (await release(server, rel.id)).state, { timeout: 150_000, interval: 500 }).toSatisfy((s: string) => TERMINAL.includes(s));
    const done = await release(server, rel.id);
    const by = Object.fromEntries(clustersOf(done).map((c: any) => [c.cluster, c]));
    expect(by['fd-1'].state).toBe('succeeded');
    expect(by['fd-2'].state).toBe('failed');
    // 2 min at time scale 0.1: the step kept retrying the unreachable API server until its deadline
    expect(by['fd-2'].reason).toMatch(/^progress deadline exceeded: not healthy within 12s .*\(last: retrying \(attempt \d+.*\): unreachable: .*127\.0\.0\.1/);
    expect(by['fa-1'].state).toBe('succeeded');
    expect(done.state).toBe('succeeded');
    const backend = await fleet.cluster('fd-1').client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: `${prefix}-fd-1`, name: 'backend' });
    expect(backend?.status).toMatchObject({ readyReplicas: 1 });
    await fleet.startApiServer('fd-2');
    restarted = true;
    expect(await fleet.cluster('fd-2').client.get({ apiVersion: 'v1', kind: 'Namespace', name: `${prefix}-fd-2` })).toBeUndefined();
  }, 240_000);
});
