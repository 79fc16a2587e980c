import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, rings, tempDir } from './flighting/fixture.ts';
import { SharedFleet } from './flighting/fleet-info.ts';

let fleet: SharedFleet;
let server: TestServer | undefined;
const dirs: string[] = [];
const prefix = `dl${process.pid % 1000}`;

beforeAll(() => {
  fleet = new SharedFleet();
});

afterAll(async () => {
  await server?.close();
  await fleet?.cleanup(prefix);
  fleet?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

/**
 * Under `serve --time-scale` a ring's progress deadline is scaled; the reason a late cluster fails
 * with, which the change's journey and the dashboard show, must name the deadline that applied.
 */
describe('the deadline a failed cluster reports', () => {
  it('is the scaled deadline that really applied, with the policy\'s own next to it', async () => {
    const repo = new FleetRepo(prefix, rings({ deadline: '30s', devRollback: false }));
    repo.commit('initial fleet');
    // the backend's Pods stay held (still creating): dev-1 stays in flight until its wave's deadline
    repo.hold(['backend']);
    const remote = manifestRemote();
    const work = tempDir('work');
    const data = tempDir('data');
    dirs.push(repo.dir, remote, work, data);
    server = await startTestServer({ dataDir: data }, {
      flighting: { fleetRepo: repo.dir, manifestRepo: { url: remote, argocdURL: `file://${remote}` }, workDir: work, access: fleet.access(), timeScale: 0.1, pollIntervalMs: 100 },
    });
    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    let view: any;
    await expect.poll(async () => (view = (await server!.call('GET', `/api/v1/releases/${rel.id}`)).body).state, { timeout: 60_000, interval: 200 }).toBe('halted');
    const dev = view.rings[0].waves[0].clusters[0];
    expect(dev.reason).toMatch(/^progress deadline exceeded: not healthy within 3s \(progressDeadline 30s at time scale 0\.1\)/);
    expect(dev.reason).not.toContain('within 30s');
  }, 120_000);
});
