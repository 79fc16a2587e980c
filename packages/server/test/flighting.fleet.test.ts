import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '@ringmaster/kube';
import { startTestServer, useBackends, type Backend, type TestServer } from './helpers/harness.ts';
import { crashPods, FleetRepo, git, manifestCommits, manifestRemote, releaseHold, rings, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';
import { SharedFleet } from './flighting/fleet-info.ts';
import { waitFor } from './helpers/drift.ts';
import { installSlowHook, isAlive } from './helpers/hooks.ts';
import type { FlightingOptions } from '../src/index.ts';

// real clusters: kube-apiserver, controller-manager, scheduler and kwok nodes per cluster, Argo CD on `management`
let fleet: SharedFleet;
const backends = useBackends();
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  fleet = new SharedFleet();
});

afterAll(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
  fleet?.close();
}, 60_000);

let seq = 0;

/** One ring and one cluster, for tests about a single cluster's delivery. */
const DEV: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: true, progressDeadline: 10m }' }];
const ONE: ClusterDef[] = [{ name: 'dev-1', ring: 'dev', mode: 'direct' }];

interface Setup {
  server: TestServer;
  fleet: FleetRepo;
  remote: string;
  prefix: string;
}

async function setup(opts: { rings?: ReturnType<typeof rings>; clusters?: ClusterDef[]; flighting?: Partial<FlightingOptions>; backend?: Backend } = {}): Promise<Setup> {
  const prefix = `t${process.pid % 1000}x${++seq}`;
  const repo = new FleetRepo(prefix, opts.rings, opts.clusters);
  repo.commit('initial fleet');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  const server = await startTestServer(opts.backend === 'postgres' ? await backends.options('postgres') : { dataDir: data }, {
    flighting: { fleetRepo: repo.dir, manifestRepo: { url: remote, argocdURL: `file://${remote}` }, workDir: work, access: fleet.access(), timeScale: 0.1, pollIntervalMs: 100, ...opts.flighting },
  });
  cleanup.push(async () => {
    await server.close();
    await fleet.cleanup(prefix);
    for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
  });
  return { server, fleet: repo, remote, prefix };
}

async function waitState(s: Setup, id: string, states: string[], timeoutMs = 60_000): Promise<any> {
  let last: any;
  try {
    return await waitFor(`release ${id} to be ${states.join('|')}`, async () => {
      last = (await s.server.call('GET', `/api/v1/releases/${id}`)).body;
      return states.includes(last.state) ? last : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify({ state: last?.state, reason: last?.reason, rings: last?.rings?.map((r: any) => [r.ring, r.state, r.waves.map((w: any) => w.clusters.map((c: any) => [c.cluster, c.state, c.phase, c.reason]))]) })}`);
  }
}

const clustersOf = (rel: any) => rel.rings.flatMap((r: any) => r.waves.flatMap((w: any) => w.clusters));

describe('flighting', () => {
  it('promotes a release through three rings, one manifest commit per cluster, and delivers only what changed next time', async () => {
    const s = await setup();
    const created = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main', message: 'first' } });
    expect(created.status).toBe(201);
    expect(created.body.summary).toMatchObject({ instances: 6, clusters: 6, rings: { dev: 1, canary: 2, prod: 3 } });
    expect(created.body.rings.map((r: any) => [r.ring, r.waves.map((w: any) => w.clusters.map((c: any) => c.cluster))])).toEqual([
      ['dev', [['dev-1']]], ['canary', [['canary-1', 'canary-2']]], ['prod', [['prod-1', 'prod-2'], ['prod-3']]],
    ]);
    expect(created.body.rings[2].waves.map((w: any) => w.label)).toEqual(['wave=1', 'wave=2']);

    const done = await waitState(s, created.body.id, ['succeeded', 'halted', 'failed', 'rolled_back']);
    expect(done.state).toBe('succeeded');
    expect(clustersOf(done).map((c: any) => c.state)).toEqual(Array(6).fill('succeeded'));
    expect(done.rings.every((r: any) => r.state === 'succeeded' && r.waves.every((w: any) => w.state === 'succeeded' && w.soakUntil))).toBe(true);

    const commits = manifestCommits(s.remote).filter((c) => c.release === done.id);
    expect(commits.map((c) => `${c.step}/${c.cluster}`).sort()).toEqual(['canary-1', 'canary-2', 'dev-1', 'prod-1', 'prod-2', 'prod-3'].map((c) => `deliver/${c}`));
    // the ring order shows in the manifest history: dev first, prod last
    expect(commits.reverse().map((c) => c.ring)).toEqual(['dev', 'canary', 'canary', 'prod', 'prod', 'prod']);
    for (const c of clustersOf(done)) expect(commits.some((m) => m.sha === c.manifestCommit)).toBe(true);

    // direct mode: objects applied on the cluster in role order, made Ready by the real controllers and kwok
    const dev = fleet.client('dev-1');
    const devNs = `${s.prefix}-dev-1`;
    const backend = await dev.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: devNs, name: 'backend' });
    expect((backend?.spec as any).template.spec.containers[0].image).toBe('appserver:1.0.0');
    expect(backend?.status).toMatchObject({ readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 });
    const sts = await dev.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: devNs, name: 'synchronizer' });
    expect(sts?.status).toMatchObject({ readyReplicas: 1 });
    const pods = (await dev.list('v1', 'Pod', { namespace: devNs })).items;
    expect(pods.map((p) => p.metadata.name).sort()).toEqual([expect.stringMatching(/^backend-[a-z0-9]+-[a-z0-9]+$/), expect.stringMatching(/^frontend-/), 'synchronizer-0']);
    for (const p of pods) {
      expect((p.spec as any).nodeName, 'scheduled by kube-scheduler onto a kwok node').toMatch(/^dev-1-node-\d$/);
      expect((p.metadata as any).ownerReferences?.[0]?.kind, 'created by the workload controllers').toMatch(/^(ReplicaSet|StatefulSet)$/);
    }
    // Argo CD mode: an Application per instance, synced by real Argo CD from the manifest repo
    const app = await fleet.client('management').get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: `canary-1--${s.prefix}-canary-1` });
    expect((app?.spec as any).source).toEqual({ repoURL: `file://${s.remote}`, targetRevision: 'main', path: `canary-1/${s.prefix}-canary-1` });
    const canaryCommit = clustersOf(done).find((c: any) => c.cluster === 'canary-1').manifestCommit;
    expect((app?.status as any).sync).toMatchObject({ status: 'Synced' });
    git(s.remote, 'merge-base', '--is-ancestor', canaryCommit, (app?.status as any).sync.revision); // throws when it is not
    expect((app?.status as any).health.status).toBe('Healthy');
    // the status is Argo CD's own: written by its application-controller
    expect(app?.metadata.managedFields?.map((f) => f.manager)).toContain('argocd-application-controller');
    const synced = await fleet.client('canary-1').get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: `${s.prefix}-canary-1`, name: 'frontend' });
    expect(synced?.metadata.managedFields?.map((f) => f.manager)).toContain('argocd-controller');
    expect(synced?.status).toMatchObject({ readyReplicas: 1 });

    // the journey holds every step
    const events = await s.server.storage.db.selectFrom('events').select(['kind', 'cluster', 'ring', 'status']).where('release_id', '=', done.id).execute();
    for (const c of ['dev-1', 'canary-1', 'canary-2', 'prod-1', 'prod-2', 'prod-3']) {
      expect(events.filter((e) => e.kind === 'promotion.step' && e.cluster === c).map((e) => e.status).sort()).toEqual(['started', 'succeeded']);
      expect(events.some((e) => e.kind === 'commit' && e.cluster === c)).toBe(true);
    }
    const timeline = (await s.server.call('GET', `/api/v1/releases/${done.id}/events`)).body.events;
    expect(timeline.map((e: any) => `${e.kind}:${e.status}:${e.cluster ?? e.ring ?? ''}`).slice(0, 4)).toEqual(['release:created:', 'release:started:', 'promotion.step:started:dev', 'commit:null:dev-1']);
    expect(timeline.at(-1)).toMatchObject({ kind: 'release', status: 'succeeded' });
    expect(events.filter((e) => e.kind === 'promotion.step' && !e.cluster).map((e) => `${e.ring}:${e.status}`).sort()).toEqual(
      ['canary:started', 'canary:succeeded', 'dev:started', 'dev:succeeded', 'prod:started', 'prod:succeeded']);
    // Prometheus sees the engine's work and the releases by state
    const metrics = await (await fetch(`${s.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^ringmaster_flighting_cluster_steps_total ([6-9]|\d{2,})$/m);
    expect(metrics).toMatch(/^ringmaster_flighting_releases\{state="succeeded"\} 1$/m);

    // a source change built into an image: the release that ships the image joins its journey
    const source = 'c0ffee'.padEnd(40, '1');
    const ingested = await s.server.call('POST', '/api/v1/events', { body: { events: [
      { kind: 'commit', repository: 'acme/appserver', commit: source, author: 'dev', message: 'faster cache warm-up' },
      { kind: 'image.pushed', repository: 'acme/appserver', commit: source, image: 'appserver:1.1.0' },
    ] } });
    expect(ingested.status).toBe(201);

    // a second release with an image override touches every instance; a third of the same revision and image touches none
    const second = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:1.1.0' } } });
    expect(second.status).toBe(201);
    expect(second.body.summary.actions).toEqual({ create: 0, update: 6, delete: 0 });
    expect((await waitState(s, second.body.id, ['succeeded', 'halted', 'failed', 'rolled_back'])).state).toBe('succeeded');
    const change = (await s.server.call('GET', `/api/v1/changes/${source}`)).body;
    expect(change.timeline.filter((e: any) => e.kind === 'promotion.step' && e.cluster && e.status === 'succeeded').map((e: any) => e.cluster).sort())
      .toEqual(['canary-1', 'canary-2', 'dev-1', 'prod-1', 'prod-2', 'prod-3']);
    expect(change.timeline.filter((e: any) => e.kind === 'commit' && e.release === second.body.id)).toHaveLength(6);
    // one row per cluster and instance (the cluster's manifest-commit row is taken over by its instance): this release's manifest commit, healthy
    const all = ['canary-1', 'canary-2', 'dev-1', 'prod-1', 'prod-2', 'prod-3'];
    expect(change.targets.filter((t: any) => t.instance === '')).toEqual([]);
    const byInstance = change.targets.filter((t: any) => t.instance !== '');
    expect(byInstance.map((t: any) => [t.instance, t.state]).sort()).toEqual(all.map((c) => [`${s.prefix}-${c}`, 'healthy']));
    for (const t of byInstance) {
      expect(t).toMatchObject({ release: second.body.id });
      expect(t.manifestCommit).toBe(manifestCommits(s.remote).find((c) => c.release === second.body.id && c.cluster === t.cluster)!.sha);
    }
    const text = git(s.remote, 'grep', '-h', 'image:', 'main', '--', `prod-2/${s.prefix}-prod-2`);
    expect(text).toContain('appserver:1.1.0');
    const third = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:1.1.0' } } });
    expect(third.body.summary.instances).toBe(0);
    expect((await waitState(s, third.body.id, ['succeeded'])).progress.clusters).toBe(0);
    expect(manifestCommits(s.remote).filter((c) => c.release === third.body.id)).toEqual([]);

    const list = await s.server.call('GET', '/api/v1/releases?limit=2');
    expect(list.body.releases.map((r: any) => r.id)).toEqual([third.body.id, second.body.id]);
    expect(list.body.nextBefore).not.toBeNull();
  }, 180_000);

  it.each(['sqlite', 'postgres'] as const)('halts the ring when a wave turns Degraded and rolls back automatically (%s)', async (backend) => {
    const s = await setup({ backend });
    const first = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    expect((await waitState(s, first.id, ['succeeded', 'halted', 'failed'])).state).toBe('succeeded');

    // kwok plays Pods of a `-bad` tag as crash-looping: the failure comes from the real Pods
    const bad = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:6.6.6-bad' } } });
    expect(bad.status).toBe(201);
    const done = await waitState(s, bad.body.id, ['rolled_back', 'failed', 'halted', 'succeeded']);
    expect(done.state).toBe('rolled_back');
    expect(done.phase).toBe('rollback');
    expect(done.reason).toMatch(/automatic rollback: 1 cluster\(s\) failed in ring dev/);
    expect(done.reason).toMatch(/StatefulSet .*\/synchronizer: pod synchronizer-0: container synchronizer: CrashLoopBackOff/);
    const dev = clustersOf(done).find((c: any) => c.cluster === 'dev-1');
    expect(dev.state).toBe('rolled_back');
    expect(done.rings.map((r: any) => r.state)).toEqual(['rolled_back', 'pending', 'pending']);
    expect(done.rollback.clusters.map((c: any) => [c.cluster, c.state])).toEqual([['dev-1', 'succeeded']]);
    // nothing reached canary; dev-1 got the bad commit and then the rollback commit with the previous render
    const commits = manifestCommits(s.remote).filter((c) => c.release === bad.body.id);
    expect(commits.map((c) => `${c.step}/${c.cluster}`).sort()).toEqual(['deliver/dev-1', 'rollback/dev-1']);
    expect(git(s.remote, 'grep', '-h', 'image:', 'main', '--', `dev-1/${s.prefix}-dev-1`)).not.toContain('6.6.6');
    const sts = await fleet.client('dev-1').get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: `${s.prefix}-dev-1`, name: 'synchronizer' });
    expect((sts?.spec as any).template.spec.containers[0].image).toBe('appserver:1.0.0');
    expect(sts?.status).toMatchObject({ readyReplicas: 1 });

    // after the rollback, the manifest repo is back at the first release: a fixed release touches dev-1 again
    const fixed = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:1.0.1' } } });
    expect(fixed.body.summary.actions.update).toBe(6);
    await s.server.call('POST', `/api/v1/releases/${fixed.body.id}/abort`, { body: { reason: 'not today' } });
  }, 180_000);

  it('halts an Argo CD-mode cluster on Argo CD\'s own Degraded verdict and sees the rollback synced and Healthy', async () => {
    const ARGO_ONLY: ClusterDef[] = [{ name: 'canary-1', ring: 'dev', mode: 'argocd' }];
    const s = await setup({ rings: DEV, clusters: ARGO_ONLY });
    const first = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    expect((await waitState(s, first.id, ['succeeded', 'halted', 'failed', 'rolled_back'])).state).toBe('succeeded');
    const mgmt = fleet.client('management');
    const name = `canary-1--${s.prefix}-canary-1`;
    const bad = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:7.0.0-bad' } } })).body;
    const done = await waitState(s, bad.id, ['rolled_back', 'failed', 'halted', 'succeeded'], 150_000);
    expect(done.state, JSON.stringify({ reason: done.reason, steps: clustersOf(done), rollback: done.rollback })).toBe('rolled_back');
    // the verdict is Argo CD's: its Deployment health turned Degraded once the real controller gave up (progress deadline)
    const step = clustersOf(done)[0];
    expect(step.reason).toMatch(new RegExp(`^Application ${name} is Degraded`));
    expect(done.rollback.clusters.map((c: any) => [c.cluster, c.state])).toEqual([['canary-1', 'succeeded']]);
    const rollbackCommit = manifestCommits(s.remote).find((c) => c.release === bad.id && c.step === 'rollback')!.sha;
    const app = await mgmt.get({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name });
    expect((app?.status as any).sync).toMatchObject({ status: 'Synced', revision: rollbackCommit });
    expect((app?.status as any).health.status).toBe('Healthy');
    const frontend = await fleet.client('canary-1').get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: `${s.prefix}-canary-1`, name: 'frontend' });
    expect((frontend?.spec as any).template.spec.containers[0].image).toBe('appserver:1.0.0');
    expect(frontend?.status).toMatchObject({ readyReplicas: 1, availableReplicas: 1 });
  }, 240_000);

  it('halts when a cluster turns Degraded while its wave soaks, and rolls the first release back to nothing', async () => {
    const defs = rings().map((r) => (r.name === 'dev' ? { ...r, policy: r.policy.replace('soak: 1s', 'soak: 2m') } : r));
    const s = await setup({ rings: defs });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    await waitFor('dev to soak', async () => (await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body.rings[0].waves[0].state === 'soaking');
    // the backend's running Pods start crash-looping while dev soaks
    expect(await crashPods(fleet.client('dev-1'), `${s.prefix}-dev-1`, 'backend')).toBe(1);
    const done = await waitState(s, rel.id, ['rolled_back', 'failed', 'halted', 'succeeded']);
    expect(done.state).toBe('rolled_back');
    expect(done.reason, done.reason).toMatch(/dev-1: turned Degraded while soaking: Deployment .*\/backend: pod backend-.*CrashLoopBackOff/);
    // nothing held the instance before this release: the rollback removes its folder and prunes its objects
    expect(() => git(s.remote, 'show', `main:dev-1/${s.prefix}-dev-1`)).toThrow();
    await waitFor('objects pruned', async () => !(await fleet.client('dev-1').get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: `${s.prefix}-dev-1`, name: 'backend' })));
    expect(await s.server.storage.db.selectFrom('delivered').selectAll().where('cluster', '=', 'dev-1').execute()).toEqual([]);
  }, 180_000);

  it('applies a direct-mode instance role by role, each role waiting for the one before to be healthy', async () => {
    const s = await setup({ rings: DEV, clusters: ONE });
    // the backend's Pods start held (still creating): dev-1 has to wait for them
    s.fleet.hold(['backend']);
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const ns = `${s.prefix}-dev-1`;
    const get = (kind: string, name: string) => fleet.client('dev-1').get({ apiVersion: 'apps/v1', kind, namespace: ns, name });
    const waiting = await waitFor('dev-1 to wait for its backend', async () => {
      const c = clustersOf((await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body)[0];
      return c.phase === 'stage:2:wait' && /backend/.test(c.reason ?? '') ? c : undefined;
    });
    expect(waiting.reason).toMatch(/Deployment .*\/backend: /);
    expect(await get('StatefulSet', 'synchronizer')).toBeDefined();
    expect(await get('Deployment', 'backend')).toBeDefined();
    // that a waiting role holds the next one back for as long as it waits is proven in direct-adapter.test.ts; here: not started
    expect(await get('Deployment', 'frontend')).toBeUndefined();
    expect(await releaseHold(fleet.client('dev-1'), ns, 'backend')).toBe(1);
    expect((await waitState(s, rel.id, ['succeeded', 'halted', 'failed', 'rolled_back'])).state).toBe('succeeded');
    expect(await get('Deployment', 'frontend')).toBeDefined();
  }, 120_000);

  it('waits for a manual approval: viewers, deployers and approvers of other rings are refused in the audit, not in the approvals', async () => {
    const s = await setup({ rings: rings({ canaryApproval: 'manual' }) });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const waiting = await waitState(s, rel.id, ['waiting_for_approval']);
    expect(waiting.rings.map((r: any) => r.state)).toEqual(['succeeded', 'waiting_for_approval', 'pending']);
    expect(waiting.rings[1].gate).toEqual({ kind: 'approval' });
    // that nothing moves however long the gate waits is decided with a fake clock (decide.test.ts)
    expect((await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body.progress.succeeded).toBe(1);

    const viewer = await s.server.token('viewer');
    const deployer = await s.server.token('deployer');
    const prodApprover = await s.server.token('approver', { rings: ['prod'] });
    const otherApp = await s.server.token('approver', { apps: ['billing'] });
    for (const token of [viewer, deployer, prodApprover, otherApp]) {
      const r = await s.server.call('POST', `/api/v1/releases/${rel.id}/approve`, { body: {}, token });
      expect(r.status).toBe(403);
    }
    const approver = await s.server.token('approver', { apps: ['appserver'], rings: ['canary'] });
    const ok = await s.server.call('POST', `/api/v1/releases/${rel.id}/approve`, { body: { comment: 'looks good' }, token: approver });
    expect(ok.status).toBe(200);
    expect(ok.body.rings[1].approval.approvedBy).toMatch(/^approver-/);
    const again = await s.server.call('POST', `/api/v1/releases/${rel.id}/approve`, { body: { ring: 'canary' }, token: approver });
    expect(again.status).toBe(409);

    expect((await waitState(s, rel.id, ['succeeded', 'halted', 'failed'])).state).toBe('succeeded');
    const final = (await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body;
    expect(final.approvals.map((a: any) => a.result)).toEqual(['approved']);
    const audit = (await s.server.call('GET', '/api/v1/audit?limit=50')).body.entries.filter((e: any) => e.action === 'POST /api/v1/releases/:id/approve');
    expect(audit.map((e: any) => e.result).sort()).toEqual(['denied', 'denied', 'denied', 'denied', 'invalid', 'ok']);
  }, 180_000);

  it('pauses and resumes a rollout', async () => {
    const s = await setup({ rings: rings({ canaryApproval: 'manual' }) });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    await waitState(s, rel.id, ['waiting_for_approval']);
    const paused = await s.server.call('POST', `/api/v1/releases/${rel.id}/pause`, { body: {} });
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    // approval while paused does not start the ring
    expect((await s.server.call('POST', `/api/v1/releases/${rel.id}/approve`, { body: {} })).status).toBe(200);
    // that a paused release starts nothing however long it stays paused is decided with a fake clock (decide.test.ts)
    // the engine looks at the approved ring, finds the release paused and says so
    await expect.poll(async () => (await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body.state, { timeout: 30_000, interval: 100 }).toBe('paused');
    const still = (await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body;
    expect(still.progress).toMatchObject({ succeeded: 1, inFlight: 0, pending: 5 });
    expect(manifestCommits(s.remote).filter((c) => c.release === rel.id)).toHaveLength(1);
    const viewer = await s.server.token('viewer');
    expect((await s.server.call('POST', `/api/v1/releases/${rel.id}/resume`, { body: {}, token: viewer })).status).toBe(403);
    const resumed = await s.server.call('POST', `/api/v1/releases/${rel.id}/resume`, { body: {} });
    expect(resumed.status).toBe(200);
    expect((await waitState(s, rel.id, ['succeeded', 'halted', 'failed'])).state).toBe('succeeded');
    expect((await s.server.call('POST', `/api/v1/releases/${rel.id}/pause`, { body: {} })).status).toBe(409);
    // pausing and resuming are on the release's journey, with who did it
    const journey = (await s.server.call('GET', `/api/v1/releases/${rel.id}/events`)).body.events as Array<{ kind: string; status: string; author: string | null }>;
    const actions = journey.filter((e) => e.kind === 'release' && (e.status === 'paused' || e.status === 'resumed'));
    expect(actions.map((e) => e.status)).toEqual(['paused', 'resumed']);
    expect(actions.every((e) => e.author)).toBe(true);
  }, 180_000);

  it('refuses a revision that fails validation, with the issues, and writes nothing', async () => {
    const s = await setup();
    s.fleet.write('instances/broken.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: broken\napp: no-such-app\ncluster: dev-1\n');
    const sha = s.fleet.commit('broken instance');
    const before = git(s.remote, 'rev-parse', 'main');
    const r = await s.server.call('POST', '/api/v1/releases', { body: { revision: sha } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('RINGMASTER_INVALID_INPUT');
    expect(r.body.error.details.issues.some((i: any) => /no-such-app/.test(i.message))).toBe(true);
    expect(await s.server.storage.db.selectFrom('releases').selectAll().execute()).toEqual([]);
    expect(git(s.remote, 'rev-parse', 'main')).toBe(before);
    const unknown = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'no-such-branch' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('revision');
    const badApp = await s.server.call('POST', '/api/v1/releases', { body: { revision: 'HEAD~1', image: { app: 'nope', image: 'x:1' } } });
    expect(badApp.status).toBe(400);
    expect(badApp.body.error.field).toBe('image.app');
  }, 60_000);

  it.each(['closed port', 'missing kubeconfig'] as const)('counts an unreachable cluster (%s) as a failure with its reason (after retrying within its deadline when it may come back) and keeps the engine going', async (how) => {
    const port = await freePort();
    const dir = tempDir('kubeconfig');
    const bad = join(dir, 'kubeconfig');
    if (how === 'closed port') writeFileSync(bad, readFileSync(fleet.kubeconfigOf('dev-1'), 'utf8').replace(/server: https:\/\/[^\s]+/, `server: https://127.0.0.1:${port}`));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const s = await setup({ rings: rings({ devRollback: false, deadline: '2m' }), flighting: { access: { ...fleet.access(), clusters: { 'dev-1': { kubeconfig: bad } } } } });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const done = await waitState(s, rel.id, ['halted', 'failed', 'succeeded', 'rolled_back']);
    expect(done.state).toBe('halted');
    const dev = clustersOf(done).find((c: any) => c.cluster === 'dev-1');
    expect(dev.state).toBe('failed');
    // a closed port may open again: the step retries until its progress deadline; a missing kubeconfig will not fix itself
    expect(dev.reason).toMatch(how === 'closed port' ? /^progress deadline exceeded: .*\(last: retrying \(attempt \d+.*\): unreachable: .*127\.0\.0\.1/ : /^unreachable: no usable kubeconfig for cluster dev-1: .*ENOENT/);
    expect(done.reason).toContain(how === 'closed port' ? 'dev-1: progress deadline exceeded' : 'dev-1: unreachable');
    // the engine still serves: the halted release can be rolled back by hand (and the rollback fails the same way)
    const rb = await s.server.call('POST', `/api/v1/releases/${rel.id}/rollback`, { body: { reason: 'clean up' } });
    expect(rb.status).toBe(200);
    const after = await waitState(s, rel.id, ['rolled_back', 'failed']);
    expect(after.state).toBe('failed');
    expect(after.rollback.clusters[0].reason).toMatch(/unreachable/);
  }, 120_000);
});

// Delivery integrity under faults (issue 9): a manifest push slower than the action timeout (a bare
// repo with slow hooks), and a Kubernetes API that goes away and comes back (a TCP proxy).

function slowHook(remote: string, name: 'pre-receive' | 'post-receive') {
  const hook = installSlowHook(remote, name, { deliverOnly: true });
  cleanup.push(() => {
    writeFileSync(hook.gate, '');
    rmSync(hook.dir, { recursive: true, force: true });
  });
  return hook;
}

describe('a manifest push slower than the action timeout', () => {
  it('is cancelled; when it landed anyway, the cluster is recorded as changed and rolled back with the release', async () => {
    const s = await setup({ rings: DEV, clusters: ONE, flighting: { actionTimeoutMs: 4000 } });
    const { remote } = s;
    const hook = slowHook(remote, 'post-receive');
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const done = await waitState(s, rel.id, ['rolled_back', 'failed', 'succeeded']);
    expect(existsSync(hook.pidFile)).toBe(true);
    expect(isAlive(Number(readFileSync(hook.pidFile, 'utf8')))).toBe(false);

    const step = done.rings[0].waves[0].clusters[0];
    expect(step.state).toBe('rolled_back');
    expect(step.reason).toMatch(/manifest write for cluster dev-1 did not finish within 4s .*its commit [0-9a-f]{12} landed/);
    expect(done.state).toBe('rolled_back');
    // the rollback covers the cluster whose manifest changed, and the manifest repo says so
    expect(done.rollback.clusters.map((c: any) => [c.cluster, c.state])).toEqual([['dev-1', 'succeeded']]);
    const commits = manifestCommits(remote).filter((c) => c.release === rel.id);
    expect(commits.map((c) => `${c.step}/${c.cluster}`)).toEqual(['rollback/dev-1', 'deliver/dev-1']);
    expect(step.manifestCommit).toBe(commits[1]!.sha);
    expect(git(remote, 'ls-tree', '--name-only', 'main')).not.toContain('dev-1');
    expect(await s.server.storage.db.selectFrom('delivered').selectAll().execute()).toEqual([]);
  }, 180_000);

  it('is cancelled with its hooks before it lands: nothing is written, nothing to roll back, nothing lands later', async () => {
    const s = await setup({ rings: DEV, clusters: ONE, flighting: { actionTimeoutMs: 4000 } });
    const { remote } = s;
    const hook = slowHook(remote, 'pre-receive');
    const before = git(remote, 'rev-parse', 'main');
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const done = await waitState(s, rel.id, ['rolled_back', 'failed', 'succeeded', 'halted']);
    // the push and its hook are gone: opening the gate now can land nothing
    expect(isAlive(Number(readFileSync(hook.pidFile, 'utf8')))).toBe(false);
    writeFileSync(hook.gate, '');
    const step = done.rings[0].waves[0].clusters[0];
    expect(step.reason).toMatch(/did not finish within 4s .*nothing was written to the manifest repo/);
    expect(step.manifestCommit).toBeNull();
    expect(done.rollback).toBeNull();
    expect(git(remote, 'rev-parse', 'main')).toBe(before);
    expect(await s.server.storage.db.selectFrom('delivered').selectAll().execute()).toEqual([]);
  }, 180_000);
});

/** A TCP proxy to the API server that can be "down" (nothing listens on its port) and come back on the same port. */
class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    this.server = createTcpServer((c) => {
      const u = connect(this.target.port, this.target.host);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      c.pipe(u).pipe(c);
    });
    await new Promise<void>((resolve, reject) => this.server!.once('error', reject).listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

describe('a Kubernetes API outage', () => {
  it('holds the step in flight, retrying with backoff, and delivers once the API is back', async () => {
    const text = readFileSync(fleet.kubeconfigOf('dev-1'), 'utf8');
    const target = /server: https:\/\/([^:\s]+):(\d+)/.exec(text)!;
    const outage = new Outage(await freePort(), { host: target[1]!, port: Number(target[2]) });
    cleanup.push(() => outage.down());
    const dir = tempDir('kubeconfig');
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const viaProxy = join(dir, 'kubeconfig');
    writeFileSync(viaProxy, text.replace(/server: https:\/\/[^\s]+/, `server: https://127.0.0.1:${outage.port}`));

    const s = await setup({ rings: DEV, clusters: ONE, flighting: { access: { ...fleet.access(), clusters: { 'dev-1': { kubeconfig: viaProxy } } } } });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    // until the third retry, or a state the step should not reach while the API is down
    const step = await vi.waitFor(async () => {
      const c = (await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body.rings[0].waves[0].clusters[0];
      if (!/^retrying \(attempt [3-9]/.test(c.reason ?? '') && ['pending', 'in_progress'].includes(c.state)) throw new Error(`step ${c.state}: ${c.reason}`);
      return c;
    }, { timeout: 60_000, interval: 100 });
    expect(step.state).toBe('in_progress');
    expect(step.reason).toMatch(/^retrying \(attempt \d+, next in \d+s\): unreachable: .*127\.0\.0\.1/);

    await outage.up();
    const done = await waitState(s, rel.id, ['succeeded', 'halted', 'failed', 'rolled_back']);
    expect(done.state).toBe('succeeded');
    expect(done.rings[0].waves[0].clusters[0]).toMatchObject({ state: 'succeeded', reason: null });
    const backend = await fleet.client('dev-1').get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: `${s.prefix}-dev-1`, name: 'backend' });
    expect(backend?.status).toMatchObject({ readyReplicas: 1 });
  }, 180_000);
});
