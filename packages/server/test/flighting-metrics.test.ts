// Metric gates on a real Prometheus (Debian's package) scraping an exporter of the test's own every
// second, against the real server over HTTP, real Git and a small local fleet of direct-mode clusters.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalFleet, type LocalFleet } from '@ringmaster/kube';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { startPrometheus, type TestPrometheus } from './helpers/prometheus.ts';
import { FleetRepo, manifestCommits, manifestRemote, tempDir, type RingDef } from './flighting/fixture.ts';

let fleet: LocalFleet | undefined;
let prometheus: TestPrometheus | undefined;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  delete process.env.RINGMASTER_PROMETHEUS_URL;
  [prometheus, fleet] = await Promise.all([startPrometheus(), startLocalFleet({ clusters: ['mg-1', 'mg-2'], nodes: 1, management: false })]);
}, 600_000);

afterAll(async () => {
  for (const fn of cleanup.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  await Promise.all([fleet?.stop(), prometheus?.stop()]);
}, 60_000);

const METRIC = 'ringmaster_test_error_ratio';
const gatedRing = (query = `max(${METRIC}{cluster="{{cluster}}"})`): RingDef => ({
  name: 'dev',
  policy: `{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: true, progressDeadline: 10m, metrics: [{ name: error-rate, query: '${query}', threshold: { max: 0.05 }, interval: 1s, count: 3, failureLimit: 1 }] }`,
});

let seq = 0;
async function setup(cluster: string, ring: RingDef, withPrometheus = true): Promise<{ server: TestServer; remote: string }> {
  const repo = new FleetRepo(`m${process.pid % 1000}x${++seq}`, [ring], [{ name: cluster, ring: 'dev', mode: 'direct' }]);
  repo.commit('initial fleet');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  const server = await startTestServer({ dataDir: data }, {
    flighting: {
      fleetRepo: repo.dir, manifestRepo: { url: remote }, workDir: work, access: { kubeconfig: fleet!.kubeconfigPath }, pollIntervalMs: 100,
      ...(withPrometheus ? { prometheusUrl: prometheus!.url } : {}),
    },
  });
  cleanup.push(async () => {
    await server.close();
    for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
  });
  return { server, remote };
}

const release = async (server: TestServer, id: string) => (await server.call('GET', `/api/v1/releases/${id}`)).body;
const TERMINAL = ['succeeded', 'halted', 'failed', 'rolled_back', 'aborted'];
/** Waits until Prometheus has scraped the exporter's value for a cluster. */
const scraped = (cluster: string, value: number) => expect.poll(() => prometheus!.query(`${METRIC}{cluster="${cluster}"}`), { timeout: 30_000, interval: 250 }).toBe(value);

describe('metric gates on a real Prometheus', () => {
  it('lets the ring pass when every measurement holds', async () => {
    prometheus!.exporter.set(METRIC, { cluster: 'mg-1' }, 0.01);
    await scraped('mg-1', 0.01);
    const { server } = await setup('mg-1', gatedRing());
    const created = await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
    expect(created.status).toBe(201);
    await expect.poll(async () => (await release(server, created.body.id)).state, { timeout: 120_000, interval: 250 }).toSatisfy((s: string) => TERMINAL.includes(s));
    const rel = await release(server, created.body.id);
    expect(rel.state).toBe('succeeded');
    const gate = rel.rings[0].metrics[0];
    expect(gate).toMatchObject({ gate: 'error-rate', threshold: { max: 0.05 }, count: 3, failureLimit: 1 });
    expect(gate.measurements.map((m: any) => [m.cluster, m.seq, m.value, m.ok])).toEqual([['mg-1', 0, 0.01, true], ['mg-1', 1, 0.01, true], ['mg-1', 2, 0.01, true]]);
  }, 180_000);

  it('halts and rolls back the ring when the gate fails, naming the gate, the value and the threshold', async () => {
    prometheus!.exporter.set(METRIC, { cluster: 'mg-2' }, 0.5);
    await scraped('mg-2', 0.5);
    const { server, remote } = await setup('mg-2', gatedRing());
    const created = await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
    expect(created.status).toBe(201);
    await expect.poll(async () => (await release(server, created.body.id)).state, { timeout: 120_000, interval: 250 }).toSatisfy((s: string) => ['succeeded', 'failed', 'rolled_back', 'aborted'].includes(s));
    const rel = await release(server, created.body.id);
    expect(rel.state).toBe('rolled_back');
    expect(rel.reason).toMatch(/^automatic rollback: 1 cluster\(s\) failed in ring dev .*mg-2: metric gate error-rate: 2 of 2 measurements failed \(failureLimit 1\), last value 0\.5 is not <= 0\.05/);
    expect(rel.rings[0].state).toBe('rolled_back');
    expect(rel.rings[0].metrics[0].measurements.map((m: any) => [m.value, m.ok, m.error])).toEqual([[0.5, false, 'value 0.5 is not <= 0.05'], [0.5, false, 'value 0.5 is not <= 0.05']]);
    // the rollback really ran: a rollback commit for the cluster in the manifest repo
    expect(manifestCommits(remote).filter((c) => c.release === created.body.id).map((c) => c.step)).toEqual(['rollback', 'deliver']);
  }, 180_000);

  it('refuses a release whose gate query Prometheus cannot parse, with its message, and writes nothing', async () => {
    const { server } = await setup('mg-1', gatedRing(`sum(rate(${METRIC}{cluster="{{cluster}}"}[1m]`));
    const res = await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/ring dev, metric gate error-rate: invalid PromQL query .*parse error: unclosed left parenthesis/);
    expect((await server.call('GET', '/api/v1/releases')).body.releases).toEqual([]);
  }, 60_000);

  it('refuses a ring with metric gates when no Prometheus is configured', async () => {
    const { server } = await setup('mg-1', gatedRing(), false);
    const res = await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('metric gates need Prometheus, and none is configured: rings dev (error-rate) declare metric gates; start the server with --prometheus-url or RINGMASTER_PROMETHEUS_URL');
    expect((await server.call('GET', '/api/v1/releases')).body.releases).toEqual([]);
  }, 60_000);
});
