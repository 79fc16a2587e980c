// Drift detection follows the engine: it looks as soon as the engine delivered (not at its next
// rescan, set to ten minutes here), and with several replicas on one PostgreSQL database only the
// engine lease holder watches, stores and heals drift; the others serve what it stored, and the
// one that takes the lease over finds the drift again.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalKube, type LocalKube } from '@ringmaster/kube';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { startPostgres, type TestPostgres } from './helpers/postgres.ts';
import { git, manifestRemote, tempDir } from './flighting/fixture.ts';
import type { ServerOptions } from '../src/index.ts';

let kube: LocalKube;
let pg: TestPostgres;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  [kube, pg] = await Promise.all([startLocalKube({}), startPostgres()]);
}, 300_000);

afterAll(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
  await kube?.stop();
  await pg?.stop();
}, 60_000);

/** One direct cluster, one instance of an app of two ConfigMaps (no workloads: this kube-apiserver runs no controllers). */
function fleetRepo(instance: string): string {
  const dir = tempDir('fleet');
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  git(dir, 'init', '-q', '-b', 'main');
  write('ringmaster.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: lease\nrings:\n  - name: dev\n    policy: { approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 2m }\nregions:\n  - name: eu\n');
  write('clusters/dev-1.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: dev-1\nring: dev\nregion: eu\ndelivery: { mode: direct }\n');
  write('apps/conf/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: conf\nteam: platform\nsource: { type: manifests, path: manifests }\nnamespace: ${instance.name}\nvalues: { level: info }\n');
  write('apps/conf/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
  write('apps/conf/manifests/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf-a\ndata:\n  LEVEL: ${level}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf-b\ndata:\n  LEVEL: ${level}\n');
  write('instances/all.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: ${instance}\napp: conf\ncluster: dev-1\n`);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'lease fleet');
  return dir;
}

describe('drift detection follows the engine lease on PostgreSQL', () => {
  const instance = `l${process.pid % 1000}-conf`;
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: instance, name });
  let url: string;
  const servers: TestServer[] = [];
  const options = (n: number, fleet: string, remote: string): ServerOptions => ({
    flighting: {
      fleetRepo: fleet, manifestRepo: { url: remote }, workDir: tempDir(`lease-work-${n}`), pollIntervalMs: 100, timeScale: 0.1, leaseMs: 1500,
      access: { kubeconfig: kube.kubeconfigPath, clusters: { 'dev-1': { kubeconfig: kube.kubeconfigPath } } },
    },
    // a rescan only every ten minutes: whatever the detector sees sooner, the engine woke it for
    drift: { refreshMs: 600_000, healBackoffMs: 1000 },
  });
  const detection = async (s: TestServer) => (await s.call('GET', '/api/v1/drift')).body.detection;
  const fields = async (s: TestServer) => ((await s.call('GET', `/api/v1/drift?instance=${instance}`)).body.instances[0]?.fields ?? []) as any[];
  const edit = async (name: string, level: string) => {
    const obj = (await kube.client.get(cm(name)))!;
    (obj.data as Record<string, string>).LEVEL = level;
    await kube.client.update(obj, { fieldManager: 'kubectl-edit' });
  };

  let leader: TestServer;
  let follower: TestServer;

  beforeAll(async () => {
    url = await pg.createDatabase();
    const fleet = fleetRepo(instance);
    const remote = manifestRemote();
    cleanup.push(() => {
      for (const d of [fleet, remote]) rmSync(d, { recursive: true, force: true });
    });
    for (let n = 0; n < 2; n++) {
      const s = await startTestServer({ databaseUrl: url }, options(n, fleet, remote));
      servers.push(s);
      cleanup.push(() => s.close());
    }
  }, 120_000);

  it('one replica acts; the engine wakes its detector after it delivers; the other only serves the stored drift', async () => {
    // one engine takes the lease; its detector acts, the other's does not
    await vi.waitFor(async () => {
      const acting = await Promise.all(servers.map(async (s) => (await detection(s)).acting));
      expect(acting.filter(Boolean)).toHaveLength(1);
    }, { timeout: 30_000, interval: 200 });
    const acting = await Promise.all(servers.map(async (s) => (await detection(s)).acting));
    leader = servers[acting.indexOf(true)]!;
    follower = servers[acting.indexOf(false)]!;

    // the release is created through the replica that does not act: the lease holder's engine runs it
    const created = await follower.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await vi.waitFor(async () => expect((await leader.call('GET', `/api/v1/releases/${created.body.id}`)).body.state).toBe('succeeded'), { timeout: 120_000, interval: 200 });

    // watched and evaluated at once, long before the ten-minute rescan: the engine woke the detector
    await vi.waitFor(async () => expect(await detection(leader)).toMatchObject({ acting: true, objects: 3, watches: 2, evaluations: expect.any(Number) }), { timeout: 30_000, interval: 100 });
    await vi.waitFor(async () => expect((await detection(leader)).evaluations).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 100 });
    expect(await detection(follower)).toMatchObject({ running: true, acting: false, objects: 0, watches: 0, evaluations: 0 });

    await edit('conf-a', 'debug');
    // stored by the leader, served by both
    for (const s of [leader, follower]) {
      await vi.waitFor(async () => expect((await fields(s)).map((f) => [f.object.name, f.path, f.desired, f.live, f.manager])).toEqual([['conf-a', 'data.LEVEL', 'info', 'debug', 'kubectl-edit']]), { timeout: 10_000, interval: 100 });
    }
    expect((await detection(follower)).evaluations).toBe(0);
    // only the lease holder heals: the other replica says so instead of pretending it did
    const refused = await follower.call('POST', `/api/v1/drift/${instance}/heal`, { body: {} });
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toMatch(/does not hold the engine lease/);
    expect((await kube.client.get(cm('conf-a')))!.data).toEqual({ LEVEL: 'debug' });
  }, 240_000);

  it('the replica that takes the lease over watches, finds the stored drift again and heals it', async () => {
    await leader.close();
    servers.splice(servers.indexOf(leader), 1);
    await vi.waitFor(async () => expect(await detection(follower)).toMatchObject({ acting: true, objects: 3, watches: 2 }), { timeout: 30_000, interval: 100 });
    await vi.waitFor(async () => expect((await detection(follower)).evaluations).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 100 });
    // found again, not lost, and a new edit is seen by the new holder's own watches
    expect((await fields(follower)).map((f) => [f.object.name, f.live])).toEqual([['conf-a', 'debug']]);
    await edit('conf-b', 'trace');
    await vi.waitFor(async () => expect((await fields(follower)).map((f) => [f.object.name, f.live])).toEqual([['conf-a', 'debug'], ['conf-b', 'trace']]), { timeout: 10_000, interval: 100 });

    const healed = await follower.call('POST', `/api/v1/drift/${instance}/heal`, { body: { reason: 'undo' } });
    expect(healed.status, JSON.stringify(healed.body)).toBe(200);
    expect(healed.body.healed.map((f: any) => f.object.name).sort()).toEqual(['conf-a', 'conf-b']);
    await vi.waitFor(async () => expect(await fields(follower)).toEqual([]), { timeout: 10_000, interval: 100 });
    expect((await kube.client.get(cm('conf-a')))!.data).toEqual({ LEVEL: 'info' });
  }, 120_000);
});
