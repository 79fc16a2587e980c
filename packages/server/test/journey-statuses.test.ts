import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRevisions } from '@ringmaster/fleet';
import { planImageIntroductions } from '../src/index.ts';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';
import { TestRepo } from './helpers/git.ts';

const backends = useBackends();
const ana = { name: 'Ana Lima', email: 'ana@example.net' };
const bot = { name: 'fleet-bot', email: 'fleet-bot@example.net' };
const DAY = 86_400_000;
const image = (region: 'eu' | 'us', tag: string) => `registry.${region}.example.net/shop:${tag}`;
const PROD = ['prod-eu-1', 'prod-us-1'];

/**
 * Statuses that must not say more than is true: a ring is done when all of its clusters are, a wait
 * for an approver is shown as such, a halted release leaves the rest "not reached", a commit nobody
 * adopts stops being "in progress", and each instance runs the image its own render names.
 * Two prod clusters in two regions, each region pulling from its own registry.
 */
describe.each(BACKENDS)('what the journey claims about a change on %s', (backend) => {
  let s: TestServer;
  let deployer: string;
  const source = new TestRepo('statuses-app');
  const fleet = new TestRepo('statuses-fleet');
  let fleetHead = '';
  const post = async (events: unknown[]) => {
    const res = await s.call('POST', '/api/v1/events', { token: deployer, body: { events } });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  };
  const change = async (sha: string) => (await s.call('GET', `/api/v1/changes/${sha}`)).body;
  const boardRow = async (sha: string) => (await s.call('GET', '/api/v1/dashboard/changes?limit=50')).body.items.find((r: any) => r.id === sha);

  /** A source commit built into both regional images, then adopted by a fleet commit that bumps the tag. */
  const shipThroughFleet = async (tag: string, title: string, at: string) => {
    writeFileSync(join(source.dir, 'version.txt'), `${tag}\n`);
    const sha = source.commit(title, ana, at);
    await post([
      { kind: 'commit', repository: 'acme/shop', branch: 'main', commit: sha, ...source.show(sha) },
      ...(['eu', 'us'] as const).map((r) => ({ kind: 'image.pushed', repository: 'acme/shop', commit: sha, image: image(r, tag) })),
    ]);
    const appFile = join(fleet.dir, 'apps', 'shop', 'app.yaml');
    writeFileSync(appFile, readFileSync(appFile, 'utf8').replace(/tag: "[^"]+"/, `tag: "${tag}"`));
    const before = fleetHead;
    fleetHead = fleet.commit(`shop: ${tag}`, bot, at);
    await post([{ kind: 'commit', repository: 'acme/fleet', branch: 'main', commit: fleetHead, previousCommit: before, ...fleet.show(fleetHead) }]);
    return { sha, fleetRevision: fleetHead };
  };
  /** What the engine reports when it delivers a release to one cluster and the cluster turns healthy. */
  const delivered = (release: string, ring: string, cluster: string, at: string) => [
    { kind: 'promotion.step', release, ring, cluster, status: 'started', occurredAt: at },
    { kind: 'sync', app: 'shop', cluster, instance: `shop-${cluster}`, ring, release, status: 'Synced', occurredAt: at },
    { kind: 'health', app: 'shop', cluster, instance: `shop-${cluster}`, ring, release, status: 'Healthy', occurredAt: at },
    { kind: 'promotion.step', release, ring, cluster, status: 'succeeded', occurredAt: at },
  ];

  beforeAll(async () => {
    cpSync(join(import.meta.dirname, 'fixtures', 'journey-statuses', 'fleet'), fleet.dir, { recursive: true });
    fleetHead = fleet.commit('Fleet: shop 2.0.0 in both regions', bot, '2026-05-01T08:00:00Z');
    s = await startTestServer(await backends.options(backend), {
      settings: { fleetRepository: 'acme/fleet', rings: ['dev', 'prod'] },
      finder: planImageIntroductions(planRevisions, fleet.dir),
    });
    deployer = await s.token('deployer');
    await s.call('PUT', '/api/v1/apps/shop', { body: { team: 'checkout', repositories: ['acme/shop'] } });
  });
  afterAll(async () => {
    await s?.close();
    source.remove();
    fleet.remove();
  });

  it('succeeds in prod only when every prod cluster is healthy, and counts n/m per ring meanwhile', async () => {
    const { sha, fleetRevision } = await shipThroughFleet('2.1.0', 'Checkout: split payments', '2026-05-02T09:00:00Z');
    await post([
      { kind: 'release', release: 'rel-1', commit: fleetRevision, status: 'created', occurredAt: '2026-05-02T09:30:00Z' },
      ...delivered('rel-1', 'dev', 'dev-eu-1', '2026-05-02T10:00:00Z'),
      ...delivered('rel-1', 'prod', 'prod-eu-1', '2026-05-02T12:00:00Z'),
    ]);
    const half = await change(sha);
    expect(half.status).toBe('in_progress');
    expect(half.rings).toEqual([
      { ring: 'dev', reachedAt: '2026-05-02T10:00:00.000Z', targets: 1, healthy: 1, completedAt: '2026-05-02T10:00:00.000Z' },
      { ring: 'prod', reachedAt: '2026-05-02T12:00:00.000Z', targets: 2, healthy: 1, completedAt: null },
    ]);
    expect((await boardRow(sha)).ringCells.prod).toMatchObject({ targets: 2, healthy: 1, completedAt: null });

    await post(delivered('rel-1', 'prod', 'prod-us-1', '2026-05-02T13:00:00Z'));
    const done = await change(sha);
    expect(done.status).toBe('succeeded');
    expect(done.rings[1]).toEqual({ ring: 'prod', reachedAt: '2026-05-02T12:00:00.000Z', targets: 2, healthy: 2, completedAt: '2026-05-02T13:00:00.000Z' });
  });

  it('shows on each instance the image its own render runs, from its region\'s registry', async () => {
    const items = (await s.call('GET', '/api/v1/fleet?app=shop')).body.items;
    expect(items.map((i: any) => [i.cluster, i.image])).toEqual([
      ['dev-eu-1', image('eu', '2.1.0')], ['prod-eu-1', image('eu', '2.1.0')], ['prod-us-1', image('us', '2.1.0')],
    ]);
  });

  let waiting = '';
  it('shows a release waiting for an approver on the change, and predicts no arrival while it waits', async () => {
    const { sha, fleetRevision } = await shipThroughFleet('2.2.0', 'Checkout: retry declined cards', '2026-05-03T09:00:00Z');
    waiting = sha;
    await post([
      { kind: 'release', release: 'rel-2', commit: fleetRevision, status: 'created', occurredAt: '2026-05-03T09:30:00Z' },
      { kind: 'release', release: 'rel-2', commit: fleetRevision, status: 'started', occurredAt: '2026-05-03T09:30:01Z' },
      { kind: 'promotion.step', release: 'rel-2', ring: 'dev', status: 'waiting', occurredAt: '2026-05-03T09:30:02Z', data: { gate: 'approval' } },
    ]);
    const c = await change(sha);
    const wait = { kind: 'approval', release: 'rel-2', ring: 'dev', since: '2026-05-03T09:30:02.000Z', who: 'an approver of ring dev' };
    expect(c.waiting).toEqual(wait);
    expect(c.targets.map((t: any) => [t.cluster, t.state])).toEqual([['dev-eu-1', 'waiting'], ['prod-eu-1', 'planned'], ['prod-us-1', 'planned']]);

    const eta = (await s.call('GET', `/api/v1/changes/${sha}/eta`)).body;
    expect(eta.waiting).toEqual(wait);
    // past changes give lead times, but none of them applies before somebody approves
    expect(eta.remaining.map((r: any) => [r.ring, r.samples, r.expectedAt, r.waitingFor])).toEqual([['dev', 1, null, wait], ['prod', 1, null, wait]]);
    const row = await boardRow(sha);
    expect(row.waiting).toEqual(wait);
    expect(row.ringCells.dev).toMatchObject({ gate: 'waiting', waiting: 1, eta: { expectedAt: null, waitingFor: wait } });
    expect(row.ringCells.prod.eta).toMatchObject({ expectedAt: null, waitingFor: wait });

    await post([{ kind: 'promotion.step', release: 'rel-2', ring: 'dev', status: 'approved', author: 'ada', occurredAt: '2026-05-03T10:00:00Z' }]);
    const approved = await change(sha);
    expect(approved.waiting).toBeNull();
    expect(approved.targets[0].state).toBe('planned');
    expect((await s.call('GET', `/api/v1/changes/${sha}/eta`)).body.remaining[0].expectedAt).toBe('2026-05-03T10:00:00.000Z');
  });

  it('reads "not reached" for what a halted, rolled-back release never got to', async () => {
    await post([
      { kind: 'promotion.step', release: 'rel-2', ring: 'dev', status: 'started', occurredAt: '2026-05-03T10:00:01Z' },
      { kind: 'promotion.step', release: 'rel-2', ring: 'dev', cluster: 'dev-eu-1', status: 'started', occurredAt: '2026-05-03T10:01:00Z' },
      { kind: 'health', app: 'shop', cluster: 'dev-eu-1', instance: 'shop-dev-eu-1', ring: 'dev', release: 'rel-2', status: 'Degraded', occurredAt: '2026-05-03T10:05:00Z' },
      { kind: 'promotion.step', release: 'rel-2', ring: 'dev', cluster: 'dev-eu-1', status: 'failed', occurredAt: '2026-05-03T10:06:00Z' },
      { kind: 'promotion.step', release: 'rel-2', ring: 'dev', status: 'failed', occurredAt: '2026-05-03T10:06:01Z', data: { reason: '1 cluster(s) failed in ring dev' } },
      { kind: 'promotion.step', release: 'rel-2', ring: 'dev', cluster: 'dev-eu-1', status: 'rolled_back', occurredAt: '2026-05-03T10:08:00Z' },
      { kind: 'release', release: 'rel-2', status: 'rolled_back', occurredAt: '2026-05-03T10:08:01Z' },
    ]);
    const c = await change(waiting);
    expect(c.status).toBe('failed');
    expect(c.waiting).toBeNull();
    expect(c.targets.map((t: any) => [t.cluster, t.state])).toEqual([['dev-eu-1', 'rolled_back'], ...PROD.map((p) => [p, 'not_reached'])]);
    const row = await boardRow(waiting);
    expect(row.ringCells.dev).toMatchObject({ targets: 1, failed: 1, rolledBack: 1, healthy: 0 });
    expect(row.ringCells.prod).toMatchObject({ targets: 2, notReached: 2, healthy: 0, eta: null });
  });

  it('ends a commit the fleet never adopts as "not adopted" once the configured time has passed since its last event', async () => {
    const stray = source.commit('Checkout: experiment nobody shipped', ana, new Date(Date.now() - 8 * DAY).toISOString());
    await post([{ kind: 'commit', repository: 'acme/shop', branch: 'main', commit: stray, ...source.show(stray) }]);
    // an old commit that just arrived is being worked on: the default week counts from its last event
    expect((await change(stray)).status).toBe('in_progress');
    const ids = async (status: string) => (await s.call('GET', `/api/v1/changes?status=${status}&limit=100`)).body.items.map((i: any) => i.id);
    expect(await ids('not_adopted')).toEqual([]);

    expect((await s.call('PUT', '/api/v1/settings', { body: { notAdoptedAfterMs: 1000 } })).status).toBe(200);
    await expect.poll(async () => (await change(stray)).status, { timeout: 10_000 }).toBe('not_adopted');
    expect(await ids('not_adopted')).toEqual([stray]);
    expect(await ids('in_progress')).not.toContain(stray);
    expect((await boardRow(stray)).ringCells).toEqual({});
    // what the fleet took up keeps its own status whatever the setting
    expect((await change(waiting)).status).toBe('failed');

    expect((await s.call('PUT', '/api/v1/settings', { body: { notAdoptedAfterMs: 30 * DAY } })).status).toBe(200);
    expect((await change(stray)).status).toBe('in_progress');
    expect((await s.call('PUT', '/api/v1/settings', { body: { notAdoptedAfterMs: 10 } })).status).toBe(400);
  });
});
