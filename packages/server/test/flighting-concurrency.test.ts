// Concurrent releases end to end, on a small local fleet of its own (two direct-mode clusters, no
// Argo CD): releases of two apps at once, an overlapping one queued behind them, `supersede`
// leaving nothing half delivered, and a ring's maxInFlight held across releases.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalFleet, type LocalFleet } from '@ringmaster/kube';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { waitFor } from './helpers/drift.ts';
import { FleetRepo, git, manifestCommits, manifestRemote, releaseHold, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';

const CLUSTERS: ClusterDef[] = [{ name: 'cc-1', ring: 'dev', mode: 'direct' }, { name: 'cc-2', ring: 'dev', mode: 'direct' }];
// one wave of both clusters, one cluster in flight at a time; soak 10s is 1 s at the time scale 0.1
const RINGS: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, maxInFlight: 1, soak: 10s, maxFailures: 0, progressDeadline: 10m }' }];
const TERMINAL = ['succeeded', 'halted', 'failed', 'rolled_back', 'aborted'];

let fleet: LocalFleet;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: CLUSTERS.map((c) => c.name), management: false, nodes: 1 });
}, 600_000);

afterAll(async () => {
  for (const fn of cleanup.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  await fleet?.stop();
}, 60_000);

let seq = 0;

const appserverYaml = (tag: string, overlap?: string) => [
  'apiVersion: ringmaster.dev/v1alpha1', 'kind: App', 'name: appserver', 'team: platform', 'source: { type: manifests, path: manifests }', 'namespace: ${instance.name}',
  'roles: [synchronizer, backend, frontend]', 'values:', `  image: { repository: appserver, tag: "${tag}" }`, '  logLevel: info', ...(overlap ? [`release: { overlap: ${overlap} }`] : []), '',
].join('\n');

interface Setup {
  server: TestServer;
  repo: FleetRepo;
  remote: string;
  prefix: string;
  appserver: string[];
  billing: string[];
}

/** The fixture's fleet (app appserver) plus a second app, billing, with one instance per cluster. */
async function setup(overlap?: string): Promise<Setup> {
  const prefix = `cc${process.pid % 1000}x${++seq}`;
  const repo = new FleetRepo(prefix, RINGS, CLUSTERS);
  repo.write('apps/appserver/app.yaml', appserverYaml('1.0.0', overlap));
  repo.write('apps/billing/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: billing\nteam: payments\nsource: { type: manifests, path: manifests }\nvalues:\n  currency: EUR\n');
  repo.write('apps/billing/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
  repo.write('apps/billing/manifests/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: billing-config\ndata:\n  CURRENCY: ${currency}\n');
  repo.write('instances/billing.yaml', CLUSTERS.map((c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: ${prefix}-b-${c.name}\napp: billing\ncluster: ${c.name}\n`).join('---\n'));
  repo.commit('initial fleet');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  const server = await startTestServer({ dataDir: data }, {
    flighting: { fleetRepo: repo.dir, manifestRepo: { url: remote }, workDir: work, access: { kubeconfig: fleet.kubeconfigPath }, timeScale: 0.1, pollIntervalMs: 100 },
  });
  cleanup.push(async () => {
    await server.close();
    for (const c of CLUSTERS) {
      for (const ns of [`${prefix}-${c.name}`, `${prefix}-b-${c.name}`]) await fleet.cluster(c.name).client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
    }
    for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
  });
  return { server, repo, remote, prefix, appserver: CLUSTERS.map((c) => `${prefix}-${c.name}`), billing: CLUSTERS.map((c) => `${prefix}-b-${c.name}`) };
}

const get = async (s: Setup, id: string) => (await s.server.call('GET', `/api/v1/releases/${id}`)).body;
const clustersOf = (rel: any): any[] => rel.rings.flatMap((r: any) => r.waves.flatMap((w: any) => w.clusters));

async function create(s: Setup, body: Record<string, unknown>): Promise<any> {
  const res = await s.server.call('POST', '/api/v1/releases', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function waitEnd(s: Setup, id: string, timeoutMs = 120_000): Promise<any> {
  let last: any;
  try {
    return await waitFor(`release ${id} to end`, async () => {
      last = await get(s, id);
      return TERMINAL.includes(last.state) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify({ state: last?.state, reason: last?.reason, waitsFor: last?.waitsFor, clusters: last ? clustersOf(last).map((c) => [c.cluster, c.state, c.phase, c.reason]) : null })}`);
  }
}

/** Files of the manifest repo's main that contain `text` (git grep exits 1 when none does). */
function filesWith(remote: string, text: string): string[] {
  try {
    return git(remote, 'grep', '-l', '-F', text, 'main').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

const ms = (t: string | null) => (t === null ? Infinity : Date.parse(t));

describe('concurrent releases', () => {
  it('runs releases of two apps at once, queues an overlapping third until the first ends, and never exceeds the ring\'s maxInFlight across them', async () => {
    const s = await setup();
    expect((await waitEnd(s, (await create(s, { revision: 'main' })).id)).state).toBe('succeeded');

    const c1 = (s.repo.write('apps/appserver/app.yaml', appserverYaml('1.1.0')), s.repo.commit('appserver 1.1.0'));
    const r1 = await create(s, { revision: c1, instances: s.appserver });
    const c2 = (s.repo.write('apps/billing/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: billing\nteam: payments\nsource: { type: manifests, path: manifests }\nvalues:\n  currency: USD\n'), s.repo.commit('billing USD'));
    const r2 = await create(s, { revision: c2, instances: s.billing });
    const c3 = (s.repo.write('apps/appserver/app.yaml', appserverYaml('1.2.0')), s.repo.commit('appserver 1.2.0'));
    const r3 = await create(s, { revision: c3, instances: s.appserver });
    expect(r1.summary.apps).toEqual(['appserver']);
    expect(r2.summary.apps).toEqual(['billing']);
    // a release of another app is not held; one of the same app queues, naming what it waits for
    expect(r2.state).not.toBe('queued');
    expect(r2.waitsFor).toEqual([]);
    expect(r3.state).toBe('queued');
    expect(r3.waitsFor).toEqual([r1.id]);
    const listed = (await s.server.call('GET', '/api/v1/releases?state=queued')).body.releases;
    expect(listed.map((r: any) => [r.id, r.waitsFor])).toContainEqual([r3.id, [r1.id]]);

    const [e1, e2, e3] = [await waitEnd(s, r1.id), await waitEnd(s, r2.id), await waitEnd(s, r3.id)];
    expect([e1.state, e2.state, e3.state]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const first = (rel: any) => Math.min(...clustersOf(rel).map((c) => ms(c.startedAt)));
    // the two apps' releases overlapped in time; the queued one started only after the first ended
    expect(first(e2)).toBeLessThan(ms(e1.finishedAt));
    expect(first(e1)).toBeLessThan(ms(e2.finishedAt));
    expect(first(e3)).toBeGreaterThanOrEqual(ms(e1.finishedAt));
    // planned again when it left the queue: it updates what r1 delivered
    expect(clustersOf(e3).flatMap((c) => c.instances.map((i: any) => i.previousRelease))).toEqual([r1.id, r1.id]);

    // maxInFlight 1: never two cluster steps of the ring in progress at once, over all releases
    const steps = [e1, e2, e3].flatMap(clustersOf).map((c) => ({ id: `${c.cluster}`, start: ms(c.startedAt), end: ms(c.finishedAt) }));
    expect(steps).toHaveLength(6);
    const overlapping = steps.flatMap((a, i) => steps.slice(i + 1).filter((b) => a.start < b.end && b.start < a.end).map((b) => [a, b]));
    expect(overlapping).toEqual([]);
  }, 300_000);

  it('supersedes an active release at a clean boundary and delivers the newer render to every instance', async () => {
    const s = await setup('supersede');
    expect((await waitEnd(s, (await create(s, { revision: 'main' })).id)).state).toBe('succeeded');

    // the older release's first cluster waits on held backend Pods: a step in flight
    const ca = s.repo.hold(['backend']);
    const ra = await create(s, { revision: ca });
    await waitFor('the older release to wait on its backend', async () => {
      const c = clustersOf(await get(s, ra.id)).find((x) => x.state === 'in_progress');
      return c?.phase === 'stage:2:wait' && /backend/.test(c.reason ?? '') ? c : undefined;
    }, 120_000);

    s.repo.hold([]);
    s.repo.write('apps/appserver/app.yaml', appserverYaml('2.1.0', 'supersede'));
    const cb = s.repo.commit('appserver 2.1.0');
    const rb = await create(s, { revision: cb });
    expect(rb.state).toBe('queued');
    expect(rb.waitsFor).toEqual([ra.id]);
    const stopping = await get(s, ra.id);
    expect(stopping.supersededBy).toBe(rb.id);
    // the step in flight goes on; the other cluster does not start
    const inFlight = clustersOf(stopping).find((c) => c.state === 'in_progress');
    expect(inFlight).toBeDefined();
    expect(clustersOf(stopping).filter((c) => c.cluster !== inFlight.cluster).map((c) => c.state)).toEqual(['pending']);

    await releaseHold(fleet.cluster(inFlight.cluster).client, `${s.prefix}-${inFlight.cluster}`, 'backend');
    const ea = await waitEnd(s, ra.id);
    expect(ea.state).toBe('aborted');
    expect(ea.reason).toBe(`superseded by ${rb.id}`);
    // the clean boundary: the step that was in flight finished (no step was cut short), the other never wrote
    const byCluster = Object.fromEntries(clustersOf(ea).map((c) => [c.cluster, c]));
    expect(['succeeded', 'failed']).toContain(byCluster[inFlight.cluster].state);
    expect(byCluster[inFlight.cluster].manifestCommit).not.toBeNull();
    expect(Object.values(byCluster).filter((c: any) => c.cluster !== inFlight.cluster).map((c: any) => [c.state, c.manifestCommit])).toEqual([['aborted', null]]);

    const eb = await waitEnd(s, rb.id);
    expect(eb.state).toBe('succeeded');
    expect(clustersOf(eb).map((c) => c.cluster).sort()).toEqual(['cc-1', 'cc-2']);
    // nothing half delivered: the manifest repo holds the newer render for every appserver instance
    const held = filesWith(s.remote, 'appserver:2.1.0');
    for (const inst of s.appserver) expect(held.some((f) => f.includes(inst))).toBe(true);
    expect(filesWith(s.remote, 'kwok.ringmaster.dev/hold')).toEqual([]);
    const commits = manifestCommits(s.remote);
    expect(commits.filter((c) => c.release === ra.id).map((c) => c.cluster)).toEqual([inFlight.cluster]);
    expect(commits.filter((c) => c.release === rb.id).map((c) => c.cluster).sort()).toEqual(['cc-1', 'cc-2']);
  }, 300_000);
});
