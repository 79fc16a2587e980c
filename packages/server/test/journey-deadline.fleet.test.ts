import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalKube, type LocalKube } from '@ringmaster/kube';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FakeControllers, FleetRepo, manifestRemote, rings, tempDir } from './flighting/fixture.ts';

let kube: LocalKube;
let server: TestServer | undefined;
let fake: FakeControllers | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  kube = await startLocalKube();
}, 240_000);

afterAll(async () => {
  await fake?.stop();
  await server?.close();
  await kube?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

/**
 * Under `serve --time-scale` a ring's progress deadline is scaled; the reason a late cluster fails
 * with, which the change's journey and the dashboard show, must name the deadline that applied.
 */
describe('the deadline a failed cluster reports', () => {
  it('is the scaled deadline that really applied, with the policy\'s own next to it', async () => {
    const prefix = `dl${process.pid % 1000}`;
    const fleet = new FleetRepo(prefix, rings({ deadline: '30s', devRollback: false }));
    fleet.commit('initial fleet');
    const remote = manifestRemote();
    const work = tempDir('work');
    const data = tempDir('data');
    dirs.push(fleet.dir, remote, work, data);
    server = await startTestServer({ dataDir: data }, {
      flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, access: { kubeconfig: kube.kubeconfigPath }, timeScale: 0.1, pollIntervalMs: 100 },
    });
    fake = new FakeControllers(kube.client, remote, prefix);
    // the backend's pods never become ready: dev-1 stays in flight until its wave's deadline
    fake.hold.add('backend');
    fake.start();
    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    let view: any;
    await expect.poll(async () => (view = (await server!.call('GET', `/api/v1/releases/${rel.id}`)).body).state, { timeout: 60_000, interval: 200 }).toBe('halted');
    const dev = view.rings[0].waves[0].clusters[0];
    expect(dev.reason).toMatch(/^progress deadline exceeded: not healthy within 3s \(progressDeadline 30s at time scale 0\.1\)/);
    expect(dev.reason).not.toContain('within 30s');
  }, 120_000);
});
