import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRevisions } from '@ringmaster/fleet';
import { formatTrailers, planImageIntroductions } from '../src/index.ts';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';
import { TestRepo } from './helpers/git.ts';

const backends = useBackends();
const IMAGE = 'registry.example.net/shop:1.1.0';
const DIGEST = 'sha256:' + 'ab'.repeat(32);
const ana = { name: 'Ana Lima', email: 'ana@example.net' };
const bot = { name: 'fleet-bot', email: 'fleet-bot@example.net' };
const ringmaster = { name: 'Ringmaster', email: 'ringmaster@example.net' };
const CLUSTERS = [
  { ring: 'dev', cluster: 'dev-1', instance: 'shop-dev', at: '2026-04-01T10:30:00Z' },
  { ring: 'canary', cluster: 'canary-1', instance: 'shop-canary', at: '2026-04-01T12:00:00Z' },
  { ring: 'prod', cluster: 'prod-1', instance: 'shop-prod', at: '2026-04-01T16:00:00Z' },
];
const plus = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

/**
 * One change followed end to end across three real repositories: the app's source repo (the commit),
 * the fleet repo (the change that introduces the image, found by rendering the plan) and the manifest
 * repo (one commit per cluster with Ringmaster's trailers), plus CI, release, sync and health events.
 */
describe.each(BACKENDS)('the journey of a change on %s', (backend) => {
  let s: TestServer;
  let deployer: string;
  const source = new TestRepo('app');
  const fleet = new TestRepo('fleet');
  const manifests = new TestRepo('manifests');
  let sha = '';
  let fleetFrom = '';
  let fleetTo = '';
  const manifestShas: Record<string, string> = {};
  const post = async (body: unknown) => {
    const res = await s.call('POST', '/api/v1/events', { token: deployer, body });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return res.body;
  };

  beforeAll(async () => {
    cpSync(join(import.meta.dirname, 'fixtures', 'journey', 'fleet'), fleet.dir, { recursive: true });
    fleetFrom = fleet.commit('Fleet: shop on 1.0.0 everywhere', bot, '2026-03-30T09:00:00Z');
    s = await startTestServer(await backends.options(backend), {
      settings: { fleetRepository: 'acme/fleet', manifestRepository: 'acme/manifests', rings: ['dev', 'canary', 'prod'] },
      finder: planImageIntroductions(planRevisions, fleet.dir),
    });
    deployer = await s.token('deployer');
    await s.call('PUT', '/api/v1/apps/shop', { body: { team: 'checkout', repositories: ['acme/shop'], contacts: ['checkout-oncall@example.net'] } });
  });
  afterAll(async () => {
    await s?.close();
    for (const r of [source, fleet, manifests]) r.remove();
  });

  it('joins commit, build, image, fleet change, release, manifest commits, sync and health into one change', async () => {
    // 1. the source commit
    writeFileSync(join(source.dir, 'vouchers.ts'), 'export const vouchers = true;\n');
    sha = source.commit('Checkout: support vouchers', ana, '2026-04-01T09:00:00Z');
    await post({ kind: 'commit', repository: 'acme/shop', branch: 'main', commit: sha, ...source.show(sha) });

    // 2. CI builds it and pushes an image; the image event names only the build, not the commit
    await post({ events: [
      { kind: 'build.started', repository: 'acme/shop', commit: sha, buildId: 'ci-77', buildUrl: 'https://ci.example.net/runs/77', occurredAt: '2026-04-01T09:01:00Z' },
      { kind: 'build.finished', repository: 'acme/shop', commit: sha, buildId: 'ci-77', status: 'succeeded', occurredAt: '2026-04-01T09:09:00Z' },
      { kind: 'image.pushed', buildId: 'ci-77', image: IMAGE, imageDigest: DIGEST, occurredAt: '2026-04-01T09:10:00Z' },
    ] });

    // 3. a fleet-repo commit bumps the tag; the server renders the plan to learn that it introduces the image
    const appFile = join(fleet.dir, 'apps', 'shop', 'app.yaml');
    writeFileSync(appFile, readFileSync(appFile, 'utf8').replace('"1.0.0"', '"1.1.0"'));
    fleetTo = fleet.commit('shop: 1.1.0', bot, '2026-04-01T09:20:00Z');
    const fleetEvent = await post({ kind: 'commit', repository: 'acme/fleet', branch: 'main', commit: fleetTo, previousCommit: fleetFrom, ...fleet.show(fleetTo) });
    expect(fleetEvent.events[0].changes).toEqual([sha]);

    // 4. a release of that fleet revision, promoted ring by ring: manifest commit, sync, health per cluster
    await post({ kind: 'release', release: 'rel-1', commit: fleetTo, image: IMAGE, occurredAt: '2026-04-01T09:25:00Z' });
    for (const c of CLUSTERS) {
      mkdirSync(join(manifests.dir, c.cluster, c.instance), { recursive: true });
      writeFileSync(join(manifests.dir, c.cluster, c.instance, 'deployment.yaml'), `image: ${IMAGE}\n`);
      const msg = `Release rel-1 to ${c.cluster}\n\n${formatTrailers({ release: 'rel-1', sourceRevision: fleetTo, ring: c.ring, cluster: c.cluster })}`;
      const m = manifests.commit(msg, ringmaster, plus(c.at, -20));
      manifestShas[c.cluster] = m;
      await post({ events: [
        { kind: 'promotion.step', release: 'rel-1', ring: c.ring, cluster: c.cluster, status: 'started', occurredAt: plus(c.at, -25) },
        { kind: 'commit', repository: 'acme/manifests', commit: m, ...manifests.show(m) },
        { kind: 'sync', app: 'shop', cluster: c.cluster, instance: c.instance, commit: m, status: 'Synced', occurredAt: plus(c.at, -5) },
        { kind: 'health', app: 'shop', cluster: c.cluster, instance: c.instance, commit: m, status: 'Healthy', occurredAt: c.at },
        { kind: 'promotion.step', release: 'rel-1', ring: c.ring, cluster: c.cluster, status: 'succeeded', occurredAt: plus(c.at, 1) },
      ] });
    }

    const { status, body } = await s.call('GET', `/api/v1/changes/${sha}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: sha, app: 'shop', team: 'checkout', repository: 'acme/shop', author: 'Ana Lima', authorEmail: 'ana@example.net',
      title: 'Checkout: support vouchers', committedAt: '2026-04-01T09:00:00.000Z', buildId: 'ci-77', image: IMAGE,
      imageDigest: DIGEST, fleetRevision: fleetTo, release: 'rel-1', stage: 'healthy', status: 'succeeded',
      rings: CLUSTERS.map((c) => ({ ring: c.ring, reachedAt: new Date(c.at).toISOString() })),
    });
    expect(body.timeline.slice(0, 6).map((e: any) => e.kind)).toEqual(['commit', 'build.started', 'build.finished', 'image.pushed', 'commit', 'release']);
    expect(body.timeline[4]).toMatchObject({ repository: 'acme/fleet', commit: fleetTo });
    expect(body.timeline).toHaveLength(6 + CLUSTERS.length * 5);
    expect(body.targets).toEqual(expect.arrayContaining(CLUSTERS.map((c) => expect.objectContaining({
      cluster: c.cluster, instance: c.instance, ring: c.ring, app: 'shop', state: 'healthy', manifestCommit: manifestShas[c.cluster],
      release: 'rel-1', healthyAt: new Date(c.at).toISOString(),
    }))));
    expect(body.targets).toHaveLength(3);
  });

  it('filters the change list by ring and cluster it reached', async () => {
    const byCluster = await s.call('GET', '/api/v1/changes?cluster=prod-1');
    expect(byCluster.body.items.map((c: any) => c.id)).toEqual([sha]);
    expect((await s.call('GET', '/api/v1/changes?ring=nowhere')).body.items).toEqual([]);
    expect((await s.call('GET', '/api/v1/changes?status=succeeded&team=checkout')).body.items[0].rings).toHaveLength(3);
  });

  it('shows the fleet now: release, image and manifest revision on each instance, and a per-cluster summary', async () => {
    const fleetNow = await s.call('GET', '/api/v1/fleet?app=shop');
    const byName = [...CLUSTERS].sort((a, b) => a.cluster.localeCompare(b.cluster));
    expect(fleetNow.body.items).toEqual(byName.map((c) => expect.objectContaining({
      cluster: c.cluster, instance: c.instance, app: 'shop', ring: c.ring, release: 'rel-1', image: IMAGE,
      revision: manifestShas[c.cluster], change: sha, sync: 'Synced', health: 'Healthy',
    })));
    const page = await s.call('GET', '/api/v1/fleet?limit=2');
    expect(page.body.items).toHaveLength(2);
    const rest = await s.call('GET', `/api/v1/fleet?limit=2&cursor=${page.body.nextCursor}`);
    expect(rest.body).toMatchObject({ nextCursor: null });
    expect(rest.body.items).toHaveLength(1);
    const summary = await s.call('GET', '/api/v1/fleet/summary');
    expect(summary.body.clusters).toContainEqual({ ring: 'prod', cluster: 'prod-1', instances: 1, healthy: 1, degraded: 0, synced: 1, releases: 1 });
  });

  it('names whom to contact for what reached prod in a window', async () => {
    const res = await s.call('GET', '/api/v1/contacts?ring=prod&from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z');
    expect(res.body.contacts).toEqual([{
      author: 'Ana Lima', email: 'ana@example.net', apps: ['shop'], teams: ['checkout'], teamContacts: ['checkout-oncall@example.net'],
      changes: [{ id: sha, title: 'Checkout: support vouchers', reachedAt: '2026-04-01T16:00:00.000Z' }],
    }]);
    const before = await s.call('GET', '/api/v1/contacts?ring=prod&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z');
    expect(before.body.contacts).toEqual([]);
  });

  it('predicts when an in-flight change reaches the remaining rings, from past lead times', async () => {
    const next = source.commit('Checkout: faster vouchers', ana, '2026-04-02T09:00:00Z');
    await post({ events: [
      { kind: 'commit', repository: 'acme/shop', commit: next, ...source.show(next) },
      { kind: 'image.pushed', commit: next, image: 'registry.example.net/shop:1.2.0' },
      { kind: 'release', release: 'rel-2', image: 'registry.example.net/shop:1.2.0' },
      { kind: 'health', app: 'shop', cluster: 'dev-1', instance: 'shop-dev', release: 'rel-2', ring: 'dev', status: 'Healthy', occurredAt: '2026-04-02T09:45:00Z' },
    ] });
    const eta = await s.call('GET', `/api/v1/changes/${next}/eta`);
    expect(eta.body).toMatchObject({ change: next, reached: ['dev'], successRate: { rate: 1, succeeded: 1, samples: 1 } });
    expect(eta.body.remaining).toEqual([
      { ring: 'canary', medianMs: 3 * 3600_000, p90Ms: 3 * 3600_000, samples: 1, expectedAt: '2026-04-02T12:00:00.000Z', expectedAtP90: '2026-04-02T12:00:00.000Z', waitingFor: null },
      { ring: 'prod', medianMs: 7 * 3600_000, p90Ms: 7 * 3600_000, samples: 1, expectedAt: '2026-04-02T16:00:00.000Z', expectedAtP90: '2026-04-02T16:00:00.000Z', waitingFor: null },
    ]);
  });

  it('does not count a rollback as the change arriving: the instance runs the release it held before', async () => {
    const bad = source.commit('Checkout: risky retries', ana, '2026-04-03T09:00:00Z');
    const image = 'registry.example.net/shop:1.3.0';
    await post({ events: [
      { kind: 'commit', repository: 'acme/shop', commit: bad, ...source.show(bad) },
      { kind: 'image.pushed', commit: bad, image },
      { kind: 'release', release: 'rel-3', image, occurredAt: '2026-04-03T09:10:00Z' },
    ] });
    const trailers = (step: string) => `${formatTrailers({ release: 'rel-3', sourceRevision: bad, ring: 'dev', cluster: 'dev-1' })}\nRingmaster-Step: ${step}`;
    writeFileSync(join(manifests.dir, 'dev-1', 'shop-dev', 'deployment.yaml'), `image: ${image}\n`);
    const deliver = manifests.commit(`Deliver rel-3 to dev-1\n\n${trailers('deliver')}`, ringmaster, '2026-04-03T09:11:00Z');
    writeFileSync(join(manifests.dir, 'dev-1', 'shop-dev', 'deployment.yaml'), `image: ${IMAGE}\n`);
    const rollback = manifests.commit(`Roll back rel-3 on dev-1\n\n${trailers('rollback')}`, ringmaster, '2026-04-03T09:20:00Z');
    await post({ events: [
      { kind: 'commit', repository: 'acme/manifests', commit: deliver, ...manifests.show(deliver) },
      { kind: 'sync', app: 'shop', cluster: 'dev-1', instance: 'shop-dev', ring: 'dev', release: 'rel-3', commit: deliver, status: 'Synced', occurredAt: '2026-04-03T09:12:00Z' },
      { kind: 'health', app: 'shop', cluster: 'dev-1', instance: 'shop-dev', ring: 'dev', release: 'rel-3', status: 'Degraded', occurredAt: '2026-04-03T09:15:00Z' },
      { kind: 'promotion.step', release: 'rel-3', ring: 'dev', cluster: 'dev-1', status: 'failed', occurredAt: '2026-04-03T09:16:00Z' },
      { kind: 'commit', repository: 'acme/manifests', commit: rollback, ...manifests.show(rollback) },
      { kind: 'promotion.step', release: 'rel-3', ring: 'dev', cluster: 'dev-1', status: 'rolled_back', occurredAt: '2026-04-03T09:21:00Z' },
      // what the rollback restored is rel-1's render
      { kind: 'sync', app: 'shop', cluster: 'dev-1', instance: 'shop-dev', ring: 'dev', release: 'rel-1', commit: rollback, status: 'Synced', occurredAt: '2026-04-03T09:22:00Z' },
      { kind: 'health', app: 'shop', cluster: 'dev-1', instance: 'shop-dev', ring: 'dev', release: 'rel-1', status: 'Healthy', occurredAt: '2026-04-03T09:23:00Z' },
    ] });
    const change = (await s.call('GET', `/api/v1/changes/${bad}`)).body;
    expect(change.status).toBe('failed');
    const target = change.targets.find((t: any) => t.cluster === 'dev-1');
    expect(target).toMatchObject({ state: 'rolled_back', manifestCommit: deliver });
    expect(target.healthyAt).toBeNull();
    expect((await s.call('GET', `/api/v1/changes/${bad}/eta`)).body.reached).toEqual([]);
    const fleetNow = (await s.call('GET', '/api/v1/fleet?cluster=dev-1')).body;
    expect(fleetNow.items[0]).toMatchObject({ release: 'rel-1', revision: rollback, health: 'Healthy', change: sha });
  });

  it('computes DORA metrics per app and team, counting a degraded prod instance until it is restored', async () => {
    await post({ events: [
      { kind: 'health', app: 'shop', cluster: 'prod-1', instance: 'shop-prod', status: 'Degraded', occurredAt: '2026-04-01T17:00:00Z' },
      { kind: 'health', app: 'shop', cluster: 'prod-1', instance: 'shop-prod', status: 'Healthy', occurredAt: '2026-04-01T17:30:00Z' },
    ] });
    const byApp = await s.call('GET', '/api/v1/dora?app=shop&from=2026-03-31T00:00:00Z&to=2026-04-07T00:00:00Z');
    expect(byApp.status).toBe(200);
    expect(byApp.body).toMatchObject({
      ring: 'prod', window: { days: 7 },
      deploymentFrequency: { deployments: 1, perDay: 1 / 7 },
      leadTime: { medianMs: 7 * 3600_000, samples: 1 },
      changeFailureRate: { failed: 1, deployments: 1, rate: 1 },
      timeToRestore: { medianMs: 30 * 60_000, samples: 1, open: 0 },
    });
    const byTeam = await s.call('GET', '/api/v1/dora?team=checkout&from=2026-03-31T00:00:00Z&to=2026-04-07T00:00:00Z');
    expect(byTeam.body.deploymentFrequency.deployments).toBe(1);
    expect((await s.call('GET', '/api/v1/dora?team=nobody&from=2026-03-31T00:00:00Z&to=2026-04-07T00:00:00Z')).body.leadTime).toEqual({ medianMs: null, p90Ms: null, samples: 0 });
    expect((await s.call('GET', '/api/v1/dora?app=shop&team=checkout')).status).toBe(400);
  });
});
