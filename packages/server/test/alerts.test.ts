import { createServer, type IncomingMessage, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@ringmaster/kube';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';
import { AlertStore } from '../src/flighting/alert-store.ts';
import { startAlertmanager, type TestAlertmanager } from './helpers/alertmanager.ts';
import { FleetRepo, manifestRemote, tempDir } from './flighting/fixture.ts';

// Real Git (fleet and manifest repos), the real server over HTTP, a real Alertmanager delivering to it,
// and a webhook receiver of the test's own. The one cluster's API is a closed port on loopback: its
// step is written to the manifest repo, then stays in flight (retrying) — a cluster in flight that
// no kube-apiserver has to run for.

const cleanup: Array<() => Promise<void> | void> = [];
const backends = useBackends();
afterAll(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
}, 60_000);

/** A webhook receiver on loopback that answers 500 to the first `failFirst` posts, then 200. */
async function receiver(failFirst: number): Promise<{ url: string; posts: Array<{ status: number; body: any }>; server: Server }> {
  const posts: Array<{ status: number; body: any }> = [];
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  };
  const server = createServer((req, res) => {
    void read(req).then((body) => {
      const status = posts.length < failFirst ? 500 : 200;
      posts.push({ status, body });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${addr.port}/hook`, posts, server };
}

/** A kubeconfig whose API server is a port nobody listens on. */
async function unreachableKubeconfig(dir: string): Promise<string> {
  const port = await freePort();
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: gone',
    'clusters:', '  - name: gone', '    cluster:', `      server: https://127.0.0.1:${port}`, '      insecure-skip-tls-verify: true',
    'users:', '  - name: gone', '    user:', '      token: nothing',
    'contexts:', '  - name: gone', '    context: { cluster: gone, user: gone }', '',
  ].join('\n'));
  return file;
}

async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const stepOf = (rel: any, cluster: string) => rel.rings.flatMap((r: any) => r.waves.flatMap((w: any) => w.clusters)).find((c: any) => c.cluster === cluster);

describe('alerts that halt and notifications out', () => {
  let server: TestServer;
  let am: TestAlertmanager;

  it('a firing alert from Alertmanager fails the cluster in flight, the release halts, and the halt is notified (third try)', async () => {
    const prefix = `al${process.pid % 1000}`;
    const fleet = new FleetRepo(prefix, [{ name: 'dev', policy: '{ approval: auto, maxFailures: 0, progressDeadline: 10m }' }], [{ name: 'dev-1', ring: 'dev', mode: 'direct' }]);
    const hook = await receiver(2);
    const text = `apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: test\nrings:\n  - name: dev\n    policy: { approval: auto, maxFailures: 0, progressDeadline: 10m }\nregions:\n  - name: eu\n`
      + 'notifications:\n  - name: team-hook\n    events: [halted, succeeded]\n    format: generic\n    url: { env: RM_TEST_HOOK }\n    rings: [dev]\n';
    fleet.write('ringmaster.yaml', text);
    const revision = fleet.commit('fleet with a notification');
    const remote = manifestRemote();
    const work = tempDir('work');
    const data = tempDir('data');
    cleanup.push(() => {
      for (const d of [fleet.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
    });
    const kubeconfig = await unreachableKubeconfig(work);
    server = await startTestServer({ dataDir: data }, {
      flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, access: { clusters: { 'dev-1': { kubeconfig } } }, timeScale: 0.1, pollIntervalMs: 100 },
      notifications: { env: { RM_TEST_HOOK: hook.url }, retryBaseMs: 50, maxAttempts: 4 },
    });
    cleanup.push(() => server.close());
    const deployer = await server.token('deployer');
    am = await startAlertmanager(`${server.url}/api/v1/webhooks/alertmanager`, deployer);
    cleanup.push(() => am.stop());

    const created = await server.call('POST', '/api/v1/releases', { body: { revision, message: 'alerts test' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    // in flight: written to the manifest repo, its cluster's API not answering
    await poll(async () => {
      const s = stepOf((await server.call('GET', `/api/v1/releases/${id}`)).body, 'dev-1');
      return s?.state === 'in_progress' && s.manifestCommit ? s : undefined;
    }, 'dev-1 in flight with its manifest commit');

    // forged and malformed deliveries: refused, nothing written
    const amBody = (labels: Record<string, string>) => ({
      version: '4', status: 'firing', receiver: 'ringmaster', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://am',
      alerts: [{ status: 'firing', labels, annotations: { summary: 'forged' }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', fingerprint: 'ffff000011112222' }],
    });
    expect((await server.call('POST', '/api/v1/webhooks/alertmanager', { token: null, body: amBody({ alertname: 'Forged', cluster: 'dev-1' }) })).status).toBe(401);
    expect((await server.call('POST', '/api/v1/webhooks/alertmanager', { token: 'rm_not-a-token', body: amBody({ alertname: 'Forged', cluster: 'dev-1' }) })).status).toBe(401);
    const viewer = await server.token('viewer');
    expect((await server.call('POST', '/api/v1/webhooks/alertmanager', { token: viewer, body: amBody({ alertname: 'Forged', cluster: 'dev-1' }) })).status).toBe(403);
    // a deployer scoped to another app may not fail this release's cluster
    const otherApp = await server.token('deployer', { apps: ['some-other-app'] });
    expect((await server.call('POST', '/api/v1/webhooks/alertmanager', { token: otherApp, body: amBody({ alertname: 'Forged', cluster: 'dev-1' }) })).status).toBe(403);
    const badVersion = await server.call('POST', '/api/v1/webhooks/alertmanager', { token: deployer, body: { ...amBody({ alertname: 'Bad', cluster: 'dev-1' }), version: '3' } });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.error.field).toBe('version');
    const noName = await server.call('POST', '/api/v1/webhooks/alertmanager', { token: deployer, body: amBody({ cluster: 'dev-1' }) });
    expect(noName.status).toBe(400);
    expect(noName.body.error.field).toBe('alerts.0.labels.alertname');
    const proto = await server.call('POST', '/api/v1/webhooks/alertmanager', { token: deployer, raw: JSON.stringify(amBody({ alertname: 'P', cluster: 'dev-1' })).replace('"alertname"', '"__proto__":{"x":"1"},"alertname"'), headers: { 'content-type': 'application/json' } });
    expect(proto.status).toBe(400);
    expect(proto.body.error.field).toBe('alerts.0.labels.__proto__');
    const big = await server.call('POST', '/api/v1/webhooks/alertmanager', { token: deployer, raw: JSON.stringify({ ...amBody({ alertname: 'Big', cluster: 'dev-1' }), pad: 'x'.repeat(1100 * 1024) }), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    let rel = (await server.call('GET', `/api/v1/releases/${id}`)).body;
    expect(rel.alerts).toEqual([]);
    expect(stepOf(rel, 'dev-1').state).toBe('in_progress');

    // the real thing: Prometheus (here: the test) fires an alert at Alertmanager, which delivers it to Ringmaster
    const startsAt = new Date().toISOString();
    const alert = { labels: { alertname: 'HighErrorRate', cluster: 'dev-1', severity: 'page' }, annotations: { summary: '5xx above 5% on dev-1' }, startsAt };
    await am.fire([alert]);
    rel = await poll(async () => {
      const r = (await server.call('GET', `/api/v1/releases/${id}`)).body;
      return r.state === 'halted' ? r : undefined;
    }, 'the release to halt');
    expect(stepOf(rel, 'dev-1')).toMatchObject({ state: 'failed', reason: 'alert HighErrorRate firing: 5xx above 5% on dev-1' });
    expect(rel.reason).toContain('alert HighErrorRate firing');
    expect(rel.alerts).toEqual([expect.objectContaining({ alert: 'HighErrorRate', cluster: 'dev-1', ring: 'dev', status: 'firing', action: 'fail', summary: '5xx above 5% on dev-1' })]);
    const events = (await server.call('GET', `/api/v1/releases/${id}/events`)).body.events;
    expect(events).toContainEqual(expect.objectContaining({ kind: 'release', status: 'alert', cluster: 'dev-1', data: expect.objectContaining({ alert: 'HighErrorRate', state: 'firing', action: 'fail' }) }));

    // the halt reaches the team's webhook: two 500s, then delivered on the third try, with the release link
    await poll(async () => (hook.posts.some((p) => p.status === 200) ? true : undefined), 'the notification to be delivered');
    expect(hook.posts.map((p) => p.status)).toEqual([500, 500, 200]);
    const body = hook.posts[2]!.body;
    expect(body).toMatchObject({ event: 'halted', release: id, ring: 'dev', state: 'halted', link: `${server.url}/releases/${id}` });
    expect(body.reason).toContain('alert HighErrorRate firing');
    expect(JSON.stringify(body)).not.toContain(deployer);
    const log = (await server.call('GET', `/api/v1/notifications?release=${id}`)).body.deliveries;
    expect(log).toEqual([expect.objectContaining({ notification: 'team-hook', format: 'generic', event: 'halted', ring: 'dev', state: 'delivered', attempts: 3, lastStatus: 200 })]);

    // resolved: Alertmanager tells, the release records it as resolved
    await am.fire([{ ...alert, endsAt: new Date().toISOString() }]);
    await poll(async () => {
      const r = (await server.call('GET', `/api/v1/releases/${id}`)).body;
      return r.alerts?.[0]?.status === 'resolved' ? r : undefined;
    }, 'the alert to be resolved');
  }, 180_000);

  it.each(BACKENDS)('keeps alerts and the delivery log on %s: a firing once, its resolution, one delivery per event', async (backend) => {
    const storage = await backends.storage(backend);
    try {
      const alerts = new AlertStore(storage);
      const firing = { releaseId: 'r1', fingerprint: 'abc123', startsAt: 1_000, alert: 'HighErrorRate', summary: 's', cluster: 'dev-1', instance: null, ring: 'dev', status: 'firing' as const, labels: { alertname: 'HighErrorRate' }, endsAt: null };
      await alerts.record([firing], 2_000);
      await alerts.record([firing], 2_500);
      expect(await alerts.alerts('r1')).toEqual([expect.objectContaining({ status: 'firing', acted: false, action: null })]);
      await alerts.acted('r1', [{ fingerprint: 'abc123', startsAt: 1_000, status: 'firing', action: 'fail' }], 3_000);
      expect((await alerts.alerts('r1'))[0]).toMatchObject({ acted: true, action: 'fail' });
      expect(await alerts.firings(['abc123'])).toHaveLength(1);
      await alerts.record([{ ...firing, status: 'resolved', endsAt: 4_000 }], 4_000);
      expect((await alerts.alerts('r1'))[0]).toMatchObject({ status: 'resolved', acted: false, action: 'fail', endsAt: 4_000 });
      const row = {
        dedupe_key: 'r1/halted/dev/n', notification: 'n', format: 'generic', event: 'halted', release_id: 'r1', ring: 'dev', url_ref: '{"env":"X"}', payload: '{}',
        state: 'pending', attempts: 0, next_at: 0, last_status: null, last_error: null, created_at: 0, delivered_at: null,
      };
      for (let i = 0; i < 2; i++) await storage.db.insertInto('notification_deliveries').values(row).onConflict((oc) => oc.column('dedupe_key').doNothing()).execute();
      expect(await storage.db.selectFrom('notification_deliveries').select('id').execute()).toHaveLength(1);
    } finally {
      await storage.close();
    }
  }, 120_000);
});
