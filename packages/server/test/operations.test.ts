import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BAD_IMAGE_TAG, startLocalFleet, type KubeClient, type LocalFleet } from '@ringmaster/kube';
import { API_VERSION, silentLogger, startOperator, type RunningOperator } from '@ringmaster/operator';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { ensureBundle, launchBrowser } from '../../web/test/helpers.ts';
import { FleetRepo, manifestRemote, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';

// NodeOperations through the server's API and the CLI, on real parts: a local cluster (real
// controllers, kwok), a release delivered to it by flighting, the real operator in-process, and an
// AppCluster the test applies in the instance's namespace.

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'ringmaster.js');
const wait = { timeout: 90_000, interval: 250 };

let fleet: LocalFleet | undefined;
let operator: RunningOperator | undefined;
let server: TestServer | undefined;
const cleanup: Array<() => Promise<void> | void> = [];

const DEV: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 2m }' }];
const ONE: ClusterDef[] = [{ name: 'dev-1', ring: 'dev', mode: 'direct' }];
const prefix = `o${process.pid % 1000}`;
const instance = `${prefix}-dev-1`;
let release = '';
let dirs: { repo: string; remote: string; work: string; data: string };
let client: KubeClient;

const roles = [
  { name: 'synchronizer', replicas: 1, image: 'registry.local/appserver:1.0' },
  { name: 'backend', replicas: 1, image: 'registry.local/appserver:1.0' },
  { name: 'frontend', replicas: 2, image: 'registry.local/appserver:1.0', ports: [{ name: 'http', port: 8080 }], readiness: { port: 8080, path: '/ready' } },
];

async function endpointPods(service: string): Promise<string[]> {
  const slices = await client.list('discovery.k8s.io/v1', 'EndpointSlice', { namespace: instance, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items.flatMap((s) => (s.endpoints ?? []) as { targetRef?: { name?: string }; conditions?: { ready?: boolean } }[])
    .filter((e) => e.conditions?.ready !== false).map((e) => e.targetRef?.name ?? '').sort();
}

async function cli(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { env: { ...process.env, RINGMASTER_SERVER: server!.url, RINGMASTER_TOKEN: token }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  fleet = await startLocalFleet({ clusters: ['dev-1'], management: false });
  client = fleet.cluster('dev-1').client;
  const repo = new FleetRepo(prefix, DEV, ONE);
  repo.commit('one dev cluster');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  dirs = { repo: repo.dir, remote, work, data };
  cleanup.push(() => {
    for (const d of [repo.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
  });
  server = await startTestServer({ dataDir: data }, {
    flighting: {
      fleetRepo: repo.dir, manifestRepo: { url: remote }, workDir: work, timeScale: 0.1, pollIntervalMs: 100,
      access: { kubeconfig: fleet.kubeconfigPath, clusters: { 'dev-1': { kubeconfig: fleet.cluster('dev-1').kubeconfigPath } } },
    },
    drift: { enabled: false },
  });
  const created = await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  release = created.body.id;
  await vi.waitFor(async () => expect((await server!.call('GET', `/api/v1/releases/${release}`)).body.state).toBe('succeeded'), { timeout: 120_000, interval: 250 });
  operator = await startOperator({ client, namespace: instance, leaseNamespace: instance, leaseName: 'ops-api', identity: 'ops-api-test', logger: silentLogger, recheckMs: 500 });
  await operator.leading;
  await client.create({ apiVersion: API_VERSION, kind: 'AppCluster', metadata: { name: 'shop', namespace: instance }, spec: { roles, cache: { builder: 'synchronizer', stopBuilderWhenReady: true } } });
}, 400_000);

afterAll(async () => {
  await server?.close().catch(() => undefined);
  await operator?.stop().catch(() => undefined);
  for (const fn of cleanup.reverse()) await fn();
  await fleet?.stop();
}, 120_000);

const ops = (path = '') => `/api/v1/instances/${instance}/operations${path}`;

async function untilPhase(name: string, phase: string) {
  return vi.waitFor(async () => {
    const o = (await server!.call('GET', ops(`/${name}`))).body;
    expect(o.phase, JSON.stringify(o)).toBe(phase);
    return o;
  }, wait);
}

describe('NodeOperations through the API', () => {
  it('lists the nodes of the instance\'s AppCluster once it is Ready', async () => {
    const nodes = await vi.waitFor(async () => {
      const r = await server!.call('GET', `/api/v1/instances/${instance}/nodes`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.conditions.find((c: { type: string }) => c.type === 'Ready')?.status).toBe('True');
      return r.body;
    }, wait);
    expect(nodes).toMatchObject({ instance, cluster: 'dev-1', app: 'appserver', ring: 'dev', namespace: instance, appCluster: 'shop' });
    expect(nodes.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['backend-0', 'frontend-0', 'frontend-1', 'synchronizer-0']);
    expect(nodes.nodes.find((n: { name: string }) => n.name === 'frontend-1')).toMatchObject({ role: 'frontend', phase: 'Ready', state: 'up', traffic: 'serving', image: 'registry.local/appserver:1.0' });
    await vi.waitFor(async () => expect(await endpointPods('shop-frontend')).toEqual(['shop-frontend-0', 'shop-frontend-1']), wait);
  }, 120_000);

  it('refuses hostile input with the field and the reason, and unknown instances with 404', async () => {
    const post = (body: unknown, raw?: string) => server!.call('POST', ops(), raw ? { raw, headers: { 'content-type': 'application/json' } } : { body });
    const cases: Array<[unknown, string, RegExp, string?]> = [
      [{ type: 'explode', node: 'frontend-0' }, 'type', /Invalid option|expected one of/i],
      [{ type: 'setTraffic', node: 'frontend-9', traffic: 'dark' }, 'node', /has no node "frontend-9"/],
      [{ type: 'upgradeNode', node: 'frontend-0', image: 'Bad Image;rm -rf' }, 'image', /image reference/],
      [{ type: 'upgradeNode', node: 'frontend-0' }, 'image', /required/],
      [{ type: 'setTraffic', node: 'frontend-0' }, 'traffic', /required/],
      [{ type: 'setTraffic', node: '../etc', traffic: 'dark' }, 'node', /DNS-1123/],
      [{ type: 'setTraffic', node: '__proto__', traffic: 'dark' }, 'node', /DNS-1123/],
      [{ type: 'copyCache', source: { appCluster: 'constructor' } }, 'source.appCluster', /does not exist/],
      [null, '__proto__', /not a known field/, '{"type":"setTraffic","node":"frontend-0","traffic":"dark","__proto__":{"admin":true}}'],
      [null, 'constructor', /not a known field/, '{"type":"setTraffic","node":"frontend-0","traffic":"dark","constructor":{"prototype":{}}}'],
    ];
    for (const [body, field, message, raw] of cases) {
      const r = await post(body, raw);
      expect(r.status, `${JSON.stringify(body ?? raw)} → ${JSON.stringify(r.body)}`).toBe(400);
      // a prototype key in the raw JSON is refused by the body parser or by the strict schema: either way a 400 naming it
      if (raw) expect(r.body.error.field === field || r.body.error.field === '(body)', JSON.stringify(r.body)).toBe(true);
      else {
        expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
        expect(r.body.error.message).toMatch(message);
      }
    }
    const unknown = await server!.call('GET', '/api/v1/instances/nobody-here/nodes');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/instance nobody-here is not delivered/);
    const noApp = await server!.call('GET', `/api/v1/instances/${instance}/nodes?appCluster=ghost`);
    expect(noApp.status).toBe(404);
    expect(noApp.body.error.message).toMatch(/AppCluster .*\/ghost does not exist/);
    // nothing was created by any of them
    expect((await server!.call('GET', ops())).body.operations).toEqual([]);
  });

  it('answers a dry run with the nodes and objects that would change, writing nothing', async () => {
    const r = await server!.call('POST', ops(), { body: { type: 'setTraffic', node: 'frontend-1', traffic: 'dark', dryRun: true } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ dryRun: true, waitsForApproval: false, steps: ['dark'] });
    expect(r.body.changes).toEqual([expect.objectContaining({ object: `AppCluster ${instance}/shop`, field: 'spec.nodes[frontend-1].traffic', from: 'serving', to: 'dark' })]);
    expect(r.body.changes[0].effect).toMatch(new RegExp(`Service ${instance}/shop-frontend drops it`));
    expect((await server!.call('GET', ops())).body.operations).toEqual([]);
    const list = (await client.list(API_VERSION, 'NodeOperation', { namespace: instance })).items;
    expect(list).toEqual([]);
  });

  it('lets a viewer read but not operate, and a deployer scoped to another ring neither', async () => {
    const viewer = await server!.token('viewer');
    expect((await server!.call('GET', `/api/v1/instances/${instance}/nodes`, { token: viewer })).status).toBe(200);
    const refused = await server!.call('POST', ops(), { token: viewer, body: { type: 'setTraffic', node: 'frontend-1', traffic: 'dark' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/role viewer; this call needs deployer/);
    const prodOnly = await server!.token('deployer', { rings: ['prod'] });
    const scoped = await server!.call('POST', ops(), { token: prodOnly, body: { type: 'setTraffic', node: 'frontend-1', traffic: 'dark' } });
    expect(scoped.status).toBe(403);
    expect(scoped.body.error.message).toMatch(/not scoped to ring "dev"/);
    const otherApp = await server!.token('deployer', { apps: ['billing'] });
    const wrongApp = await server!.call('GET', `/api/v1/instances/${instance}/operations`, { token: otherApp });
    expect(wrongApp.status).toBe(403);
    expect(wrongApp.body.error.message).toMatch(/not scoped to app "appserver"/);
  });

  let darkName = '';
  it('takes a node dark: Succeeded, the Service\'s EndpointSlices drop it, audited and on the journey', async () => {
    const deployer = await server!.token('deployer', { apps: ['appserver'], rings: ['dev'] });
    const r = await server!.call('POST', ops(), { token: deployer, body: { type: 'setTraffic', node: 'frontend-1', traffic: 'dark', reason: 'drain for the test' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    darkName = r.body.name;
    expect(r.body).toMatchObject({ type: 'setTraffic', node: 'frontend-1', traffic: 'dark', waitsForApproval: false });
    const done = await untilPhase(darkName, 'Succeeded');
    expect(done.steps.map((s: { name: string; phase: string }) => `${s.name}:${s.phase}`)).toEqual(['dark:Succeeded']);
    expect(done.events.length).toBeGreaterThan(0);
    await vi.waitFor(async () => expect(await endpointPods('shop-frontend')).toEqual(['shop-frontend-0']), wait);
    const nodes = (await server!.call('GET', `/api/v1/instances/${instance}/nodes`)).body.nodes;
    expect(nodes.find((n: { name: string }) => n.name === 'frontend-1')).toMatchObject({ traffic: 'dark', state: 'up' });
    // audited
    const audit = (await server!.call('GET', '/api/v1/audit')).body.entries;
    expect(audit.some((e: { target: string; details?: { action?: string; operation?: string } }) => e.target === `instance/${instance}` && e.details?.action === 'operation.create' && e.details.operation === darkName)).toBe(true);
    // on the journey of the release that delivered the instance: created, then the phases the server saw
    await vi.waitFor(async () => {
      const events = (await server!.call('GET', `/api/v1/releases/${release}/events`)).body.events as { kind: string; status: string; instance: string; data: { operation?: string } }[];
      const mine = events.filter((e) => e.kind === 'operation' && e.data.operation === darkName).map((e) => e.status);
      expect(mine).toEqual(expect.arrayContaining(['created', 'Succeeded']));
    }, wait);
  }, 120_000);

  it('holds a risky operation until an approver approves it (a deployer may not)', async () => {
    const deployer = await server!.token('deployer');
    const r = await server!.call('POST', ops(), { token: deployer, body: { type: 'upgradeNode', node: 'frontend-0', image: 'registry.local/appserver:2.0' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ approved: false, waitsForApproval: true });
    const name = r.body.name as string;
    // approving at creation needs the approver role too
    const selfApproved = await server!.call('POST', ops(), { token: deployer, body: { type: 'upgradeNode', node: 'frontend-0', image: 'registry.local/appserver:2.0', approved: true } });
    expect(selfApproved.status).toBe(403);
    // the operator has looked at it and decided to wait for the approval: nothing ran
    const still = await vi.waitFor(async () => {
      const o = (await server!.call('GET', ops(`/${name}`))).body;
      expect(o.reason, JSON.stringify(o)).toBe('AwaitingApproval');
      return o;
    }, wait);
    expect(still.phase).toBe('Pending');
    expect(((await server!.call('GET', `/api/v1/instances/${instance}/nodes`)).body.nodes as { name: string; image: string }[]).find((n) => n.name === 'frontend-0')?.image).toBe('registry.local/appserver:1.0');
    const denied = await server!.call('POST', ops(`/${name}/approve`), { token: deployer, body: {} });
    expect(denied.status).toBe(403);
    const approver = await server!.token('approver', { apps: ['appserver'] });
    const dry = await server!.call('POST', ops(`/${name}/approve`), { token: approver, body: { dryRun: true } });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect((await server!.call('GET', ops(`/${name}`))).body.approved).toBe(false);
    const ok = await server!.call('POST', ops(`/${name}/approve`), { token: approver, body: { reason: 'looks right' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const done = await untilPhase(name, 'Succeeded');
    expect(done.steps.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['upgrade']));
    const node = ((await server!.call('GET', `/api/v1/instances/${instance}/nodes`)).body.nodes as { name: string; image: string; traffic: string }[]).find((n) => n.name === 'frontend-0');
    expect(node).toMatchObject({ image: 'registry.local/appserver:2.0', traffic: 'serving' });
    const again = await server!.call('POST', ops(`/${name}/approve`), { token: approver, body: {} });
    expect(again.status).toBe(409);
    await vi.waitFor(async () => {
      const events = (await server!.call('GET', `/api/v1/releases/${release}/events`)).body.events as { kind: string; status: string; author?: string; data: { operation?: string } }[];
      expect(events.filter((e) => e.kind === 'operation' && e.data.operation === name).map((e) => e.status)).toEqual(expect.arrayContaining(['created', 'approved', 'Succeeded']));
    }, wait);
  }, 150_000);

  it('does the same from the CLI through the server: node list, dry run, node serve --wait, op status --watch, exit codes', async () => {
    const deployer = await server!.token('deployer');
    const list = await cli(['node', 'list', instance, '-o', 'json'], deployer);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).nodes.find((n: { name: string }) => n.name === 'frontend-1')).toMatchObject({ traffic: 'dark' });
    const table = await cli(['node', 'list', instance], deployer);
    expect(table.stdout).toMatch(/frontend-1\s+frontend\s+Ready\s+up\s+dark/);
    const dry = await cli(['node', 'serve', instance, 'frontend-1', '--dry-run'], deployer);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would create NodeOperation/);
    expect(dry.stdout).toMatch(/spec\.nodes\[frontend-1\]\.traffic\s+dark\s+serving/);
    const viewer = await server!.token('viewer');
    const refused = await cli(['node', 'serve', instance, 'frontend-1'], viewer);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/needs deployer/);
    const bad = await cli(['node', 'dark', instance, 'frontend-7'], deployer);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/has no node "frontend-7" .*\(field node\)/);
    const served = await cli(['node', 'serve', instance, 'frontend-1', '--wait', '-o', 'json'], deployer);
    expect(served.code, served.stderr).toBe(0);
    const op = JSON.parse(served.stdout);
    expect(op).toMatchObject({ phase: 'Succeeded', type: 'setTraffic', node: 'frontend-1' });
    await vi.waitFor(async () => expect(await endpointPods('shop-frontend')).toEqual(['shop-frontend-0', 'shop-frontend-1']), wait);
    const status = await cli(['op', 'status', op.name, '--instance', instance, '--watch'], deployer);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`NodeOperation ${instance}/${op.name}: setTraffic frontend-1 on shop — Succeeded`));
    // a risky one from the CLI: created waiting, approved by an approver, followed to the end
    const stop = await cli(['node', 'stop', instance, 'frontend-1', '-o', 'json'], deployer);
    expect(stop.code, stop.stderr).toBe(0);
    const stopName = JSON.parse(stop.stdout).name as string;
    expect(JSON.parse(stop.stdout).waitsForApproval).toBe(true);
    const noInstance = await cli(['op', 'approve', stopName], await server!.token('approver'));
    expect(noInstance.code).toBe(1);
    expect(noInstance.stderr).toMatch(/--instance is required/);
    const approved = await cli(['op', 'approve', stopName, '--instance', instance], await server!.token('approver'));
    expect(approved.code, approved.stderr).toBe(0);
    const watched = await cli(['op', 'status', stopName, '--instance', instance, '--watch', '-o', 'json'], deployer);
    expect(watched.code, watched.stderr).toBe(0);
    expect(JSON.parse(watched.stdout).phase).toBe('Succeeded');
  }, 200_000);

  it('shows the nodes and operations on the dashboard\'s instance page, with Dark for a deployer and no buttons for a viewer', async () => {
    ensureBundle();
    const browser = await launchBrowser();
    try {
      const deployer = await server!.token('deployer', { apps: ['appserver'] });
      const page = await browser.page(deployer);
      await page.goto(`${server!.url}/fleet/dev-1/${instance}`);
      await page.getByTestId('nodes').waitFor({ timeout: 30_000 });
      const row = page.getByTestId('node-frontend-0');
      await vi.waitFor(async () => expect(await row.textContent()).toMatch(/frontend-0frontendReadyupserving/), wait);
      expect(await row.textContent()).toContain('registry.local/appserver:2.0');
      expect(await page.getByTestId('operations').textContent()).toMatch(/upgradeNode.*Succeeded/s);
      await row.getByRole('button', { name: 'Dark' }).click();
      await expect.poll(async () => page.getByTestId('nodes-outcome').textContent(), wait).toMatch(/Dark frontend-0: NodeOperation \S+ is Pending/);
      await vi.waitFor(async () => expect(await endpointPods('shop-frontend')).toEqual([]), wait);
      await vi.waitFor(async () => expect(await page.getByTestId('node-frontend-0').textContent()).toContain('dark'), wait);
      await page.close();
      const viewerPage = await browser.page(await server!.token('viewer'));
      await viewerPage.goto(`${server!.url}/fleet/dev-1/${instance}`);
      await viewerPage.getByTestId('nodes').waitFor({ timeout: 30_000 });
      expect(await viewerPage.getByTestId('nodes').getByRole('button').count()).toBe(0);
      expect(await viewerPage.getByTestId('nodes').textContent()).toContain('Operating nodes needs the deployer role for app appserver');
      await viewerPage.close();
    } finally {
      await browser.close();
    }
  }, 150_000);

  it('records a failed operation on the journey as Failed with its reason', async () => {
    const r = await server!.call('POST', ops(), { body: { type: 'upgradeNode', node: 'frontend-0', image: `registry.local/appserver:${BAD_IMAGE_TAG}`, approved: true, stepTimeoutSeconds: 60 } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const failed = await untilPhase(r.body.name, 'Failed');
    expect(failed.reason).toBe('StepFailed');
    expect(failed.events.map((e: { reason: string }) => e.reason)).toContain('OperationFailed');
    await vi.waitFor(async () => {
      const events = (await server!.call('GET', `/api/v1/releases/${release}/events`)).body.events as { kind: string; status: string; author?: string; data: { operation?: string; reason?: string } }[];
      const mine = events.filter((e) => e.kind === 'operation' && e.data.operation === r.body.name);
      expect(mine.map((e) => e.status)).toEqual(expect.arrayContaining(['created', 'approved', 'Failed']));
      expect(mine.find((e) => e.status === 'Failed')?.data.reason).toBe('StepFailed');
    }, wait);
  }, 150_000);

  it('answers 503 with the reason when the instance\'s cluster cannot be reached', async () => {
    await server!.close();
    // the same cluster's kubeconfig pointing at a port nothing listens on
    const dead = join(tempDir('dead'), 'kubeconfig');
    writeFileSync(dead, readFileSync(fleet!.cluster('dev-1').kubeconfigPath, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9'));
    cleanup.push(() => rmSync(join(dead, '..'), { recursive: true, force: true }));
    server = await startTestServer({ dataDir: dirs.data }, {
      flighting: { fleetRepo: dirs.repo, manifestRepo: { url: dirs.remote }, workDir: dirs.work, engine: false, access: { clusters: { 'dev-1': { kubeconfig: dead } } } },
      drift: { enabled: false },
    });
    for (const [method, path, body] of [['GET', `/api/v1/instances/${instance}/nodes`, undefined], ['POST', ops(), { type: 'setTraffic', node: 'frontend-0', traffic: 'serving' }]] as const) {
      const r = await server!.call(method, path, body ? { body } : {});
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body.error.code).toBe('RINGMASTER_UNAVAILABLE');
      expect(r.body.error.message).toMatch(/cluster dev-1 cannot be reached/);
    }
  }, 60_000);
});
