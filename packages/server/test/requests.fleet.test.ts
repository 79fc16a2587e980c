import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '@ringmaster/kube';
import { API_VERSION } from '@ringmaster/operator';
import { createDnsProvider, createToken, openStorage, signTicketWebhook, startLocalBind, type DnsProvider, type LocalBind } from '../src/index.ts';
import { git, manifestRemote, tempDir, type FleetRepo } from './flighting/fixture.ts';
import { SharedFleet } from './flighting/fleet-info.ts';
import { killChild, startChild as startServerChild } from './helpers/child.ts';
import { requestFleet, seedInstance, startTicketReceiver, type TicketReceiver } from './requests/fixture.ts';

// The requests API end to end, on real parts: the shared local fleet (real API servers, controllers,
// kwok, the `ringmaster operator` process on dev-1), a real BIND 9 taking RFC 2136 updates signed
// with TSIG, a ticketing endpoint on loopback, and the control plane as a child process that the
// test kills with SIGKILL in the middle of a request.

const CHILD = join(import.meta.dirname, 'requests', 'serve-child.ts');
const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'ringmaster.js');
const run = promisify(execFile);
const prefix = `rq${process.pid % 1000}`;
const tenant = `${prefix}-acme`;
const seed = `${prefix}-seed`;
const wait = { timeout: 240_000, interval: 500 };

let fleet: SharedFleet;
let bind: LocalBind | undefined;
let dns: DnsProvider;
let tickets: TicketReceiver | undefined;
let child: ChildProcess | undefined;
let repo: FleetRepo;
let env: Record<string, string>;
let url = '';
const tokens: Record<'admin' | 'ci' | 'alice' | 'bob' | 'viewer', string> = { admin: '', ci: '', alice: '', bob: '', viewer: '' };
const secret = randomBytes(24).toString('hex');
const dirs: string[] = [];

const startChild = () => startServerChild(CHILD, env);

async function kill9(): Promise<void> {
  await killChild(child!);
  child = undefined;
}

async function call(method: string, path: string, body?: unknown, token: string | null = tokens.admin): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function ticketHook(payload: unknown, opts: { secret?: string; delivery?: string; at?: number } = {}): Promise<{ status: number; body: any }> {
  const raw = JSON.stringify(payload);
  const res = await fetch(`${url}/api/v1/webhooks/ticket`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signTicketWebhook(opts.secret ?? secret, raw, opts.at ?? Date.now()), 'x-ringmaster-delivery': opts.delivery ?? `t-${randomBytes(6).toString('hex')}` },
    body: raw,
  });
  return { status: res.status, body: await res.json() };
}

async function untilState(id: string, states: string[]): Promise<any> {
  return vi.waitFor(async () => {
    const r = (await call('GET', `/api/v1/requests/${id}`)).body;
    expect(states, `${r.state}: ${JSON.stringify(r.steps)}`).toContain(r.state);
    return r;
  }, wait);
}

const checkOf = (view: any, name: string) => view.preflight.find((c: any) => c.check === name);
const dry = (body: Record<string, unknown>, token = tokens.ci) => call('POST', '/api/v1/requests', { ...body, dryRun: true }, token);
const fqdn = (instance: string) => `${instance}.${bind!.zone}`;

beforeAll(async () => {
  fleet = new SharedFleet();
  bind = await startLocalBind({ dir: tempDir('bind') });
  dns = createDnsProvider(bind.config);
  tickets = await startTicketReceiver();
  repo = requestFleet(prefix, tenant);
  repo.commit('the shop app and its seed tenant');
  const remote = manifestRemote();
  const work = tempDir('requests-work');
  const data = tempDir('requests-data');
  const secrets = tempDir('requests-secrets');
  dirs.push(repo.dir, remote, work, data, secrets);
  writeFileSync(join(secrets, 'tsig'), bind.tsig.secret, { mode: 0o600 });
  const storage = await openStorage({ dataDir: data });
  tokens.admin = (await createToken(storage, { name: 'rq-admin', role: 'admin' })).token;
  tokens.ci = (await createToken(storage, { name: 'ci', role: 'deployer', apps: ['shop'] })).token;
  tokens.alice = (await createToken(storage, { name: 'alice', role: 'approver', apps: ['shop'] })).token;
  tokens.bob = (await createToken(storage, { name: 'bob', role: 'approver', apps: ['billing'] })).token;
  tokens.viewer = (await createToken(storage, { name: 'viewer', role: 'viewer' })).token;
  await storage.close();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = {
    RINGMASTER_TEST_CONFIG: JSON.stringify({ dataDir: data, port, fleetRepo: repo.dir, remote, workDir: work, kubeconfig: fleet.kubeconfigPath, timeScale: 0.1, pollIntervalMs: 150 }),
    RINGMASTER_DNS_SERVER: `127.0.0.1:${bind.port}`, RINGMASTER_DNS_ZONE: bind.zone, RINGMASTER_DNS_TSIG_KEY_NAME: bind.tsig.name,
    RINGMASTER_DNS_TSIG_ALGORITHM: bind.tsig.algorithm, RINGMASTER_DNS_TSIG_SECRET_FILE: join(secrets, 'tsig'),
    RINGMASTER_TICKET_URL: tickets.url, RINGMASTER_TICKET_SECRET: 'outbound-secret', RINGMASTER_TICKET_WEBHOOK_SECRET: secret,
  };
  child = await startChild();
  // the seed tenant is delivered by an ordinary release first
  const rel = await call('POST', '/api/v1/releases', { revision: 'main' });
  expect(rel.status, JSON.stringify(rel.body)).toBe(201);
  await vi.waitFor(async () => expect((await call('GET', `/api/v1/releases/${rel.body.id}`)).body.state).toBe('succeeded'), wait);
  await vi.waitFor(async () => {
    const app = await fleet.client('dev-1').get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: seed, name: 'shop' });
    expect((app as any)?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status).toBe('True');
  }, wait);
}, 600_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await tickets?.close();
  await bind?.stop();
  await fleet?.cleanup(prefix);
  fleet?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 120_000);

describe('preflight: each check fails on its own case, and a failing request writes nothing', () => {
  it('provision', async () => {
    await dns.upsert({ name: fqdn(`${prefix}-taken`), type: 'A', ttl: 60, values: ['10.9.9.9'] });
    const base = { kind: 'provision', app: 'shop', cluster: 'dev-1', name: `${prefix}-new` };
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ app: 'nope' }, 'app exists', /no app "nope"/],
      [{ cluster: 'nope' }, 'cluster exists', /no cluster "nope"/],
      [{ name: seed }, 'name is free', /exists already/],
      [{ values: { ringmaster: { instance: 'forged' } } }, 'values are valid', new RegExp(`instances/${prefix}-new\\.yaml:\\d+:\\d+.*reserved`)],
      [{ cluster: 'canary-2' }, 'cluster labels fit', /lacks provider=onprem/],
      [{ values: { backend: { memory: '100Ti' } } }, 'cluster capacity fits', /not enough memory/],
      [{ name: `${prefix}-taken` }, 'DNS name is free', /answers 10\.9\.9\.9/],
    ];
    // a deployer scoped to shop may not even ask about another app
    expect((await dry({ ...base, app: 'nope' })).status).toBe(403);
    for (const [change, check, reason] of cases) {
      const r = await dry({ ...base, ...change }, tokens.admin);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      // the one failing check; the checks that build on it say "not checked"
      const failed = r.body.preflight.filter((c: any) => !c.ok && !c.reason.startsWith('not checked')).map((c: any) => c.check);
      expect(failed, `${check}: ${JSON.stringify(r.body.preflight)}`).toEqual([check]);
      expect(checkOf(r.body, check).reason).toMatch(reason);
    }
    // the same request for real: refused with every check, nothing committed, no request stored
    const head = git(repo.dir, 'rev-parse', 'HEAD');
    const refused = await call('POST', '/api/v1/requests', { ...base, cluster: 'canary-2' }, tokens.ci);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ field: 'cluster' });
    expect(refused.body.error.message).toMatch(/preflight failed: cluster labels fit/);
    expect(refused.body.error.details.preflight.length).toBeGreaterThan(5);
    expect(git(repo.dir, 'rev-parse', 'HEAD')).toBe(head);
    expect((await call('GET', '/api/v1/requests')).body.requests).toEqual([]);
    await dns.remove(fqdn(`${prefix}-taken`), 'A');
  }, 120_000);

  it('malformed input gets the field and the reason', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ kind: 'provision', name: 'Bad_Name', app: 'shop', cluster: 'dev-1' }, 'name'],
      [{ kind: 'provision', name: `${prefix}-x`, cluster: 'dev-1' }, 'app'],
      [{ kind: 'provision', name: `${prefix}-x`, app: 'shop', cluster: 'dev-1', values: JSON.parse('{"a":{"constructor":{"x":1}}}') }, 'values.a.constructor'],
      [{ kind: 'operate', name: seed, operation: { type: 'setTraffic', node: 'frontend-0' } }, 'operation.traffic'],
      [{ kind: 'decommission', name: seed, app: 'shop' }, 'app'],
      [{ kind: 'provision', name: `${prefix}-x`, app: 'shop', cluster: 'dev-1', extra: 1 }, '(body)'],
    ];
    // a prototype key in the raw JSON is refused by the body parser before anything reads it
    const proto = await fetch(`${url}/api/v1/requests`, { method: 'POST', headers: { authorization: `Bearer ${tokens.ci}`, 'content-type': 'application/json' }, body: `{"kind":"provision","name":"${prefix}-x","app":"shop","cluster":"dev-1","values":{"__proto__":{"polluted":true}}}` });
    expect(proto.status).toBe(400);
    for (const [body, field] of bad) {
      const r = await call('POST', '/api/v1/requests', body, tokens.ci);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      if (field !== '(body)') expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
    }
    expect((await call('GET', '/api/v1/requests')).body.requests).toEqual([]);
  });

  it('operate and decommission', async () => {
    const unknown = await dry({ kind: 'operate', name: `${prefix}-ghost`, operation: { type: 'restartNode', node: 'frontend-0' } });
    expect(checkOf(unknown.body, 'instance exists')).toMatchObject({ ok: false, reason: expect.stringMatching(/no instance/) });
    const node = await dry({ kind: 'operate', name: seed, operation: { type: 'setTraffic', node: 'frontend-9', traffic: 'dark' } });
    expect(node.body.preflight.filter((c: any) => !c.ok).map((c: any) => c.check)).toEqual(['node exists']);
    expect(checkOf(node.body, 'node exists').reason).toMatch(/no node "frontend-9".*frontend-0/);
    const deps = await dry({ kind: 'decommission', name: seed });
    expect(deps.body.preflight.filter((c: any) => !c.ok).map((c: any) => c.check)).toEqual([]);
    // the seed names the tenant-to-be: decommissioning that one would fail "nothing depends on it" (below)
    // an unhealthy target: the seed's frontend-0 runs an image kwok plays crash-looping
    const client = fleet.client('dev-1');
    const ref = { apiVersion: API_VERSION, kind: 'AppCluster', namespace: seed, name: 'shop' };
    await client.mergePatch(ref, { spec: { nodes: [{ name: 'frontend-0', image: 'registry.local/shop:bad' }] } });
    try {
      await vi.waitFor(async () => {
        const r = await dry({ kind: 'operate', name: seed, operation: { type: 'restartNode', node: 'frontend-0' } });
        expect(r.body.preflight.filter((c: any) => !c.ok).map((c: any) => c.check)).toEqual(['target is healthy']);
      }, wait);
    } finally {
      await client.mergePatch(ref, { spec: { nodes: null } });
    }
    await vi.waitFor(async () => expect(checkOf((await dry({ kind: 'operate', name: seed, operation: { type: 'restartNode', node: 'frontend-0' } })).body, 'target is healthy').ok).toBe(true), wait);
  }, 300_000);
});

describe('provision, operate, decommission', () => {
  let provisionId = '';

  it('provisions a tenant: fleet commit, a release of it alone, the AppCluster Ready, its DNS record — across a kill -9', async () => {
    const body = { kind: 'provision', app: 'shop', cluster: 'dev-1', name: tenant, ticket: 'CHG-100', reason: 'new tenant ACME', values: { backend: { memory: '2Gi' } } };
    const preview = await dry(body);
    expect(preview.body.preflight.every((c: any) => c.ok), JSON.stringify(preview.body.preflight)).toBe(true);
    expect(preview.body.dryRun.order[0]).toMatch(new RegExp(`^commit instances/${tenant}\\.yaml to main`));
    expect(preview.body.dryRun.fleetDiff).toMatch(new RegExp(`\\+name: ${tenant}`));
    expect(preview.body.dryRun.objects.map((o: any) => o.kind).sort()).toEqual(['AppCluster', 'Namespace', 'PersistentVolumeClaim']);
    expect(preview.body.dryRun.outside.map((o: any) => o.step)).toEqual(['dns', 'ticket']);
    const created = await call('POST', '/api/v1/requests', body, tokens.ci);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    provisionId = created.body.id;
    expect(created.body).toMatchObject({ state: 'awaiting_approval', instance: tenant, app: 'shop', ring: 'dev', cluster: 'dev-1', ticket: 'CHG-100' });
    expect(created.body.steps.map((s: any) => s.name)).toEqual(['commit', 'release', 'ready', 'dns', 'ticket']);
    // a second request for the same instance conflicts with this one while it has not ended
    const twice = await dry(body);
    expect(twice.body.preflight.filter((c: any) => !c.ok).map((c: any) => c.check)).toEqual(['no conflicting release, operation or request']);
    expect(checkOf(twice.body, 'no conflicting release, operation or request').reason).toMatch(new RegExp(`request ${provisionId} \\(provision\\) is awaiting approval`));
    // a viewer cannot approve, an approver of another app cannot, the requester cannot approve their own
    expect((await call('POST', `/api/v1/requests/${provisionId}/approve`, {}, tokens.viewer)).status).toBe(403);
    expect((await call('POST', `/api/v1/requests/${provisionId}/approve`, {}, tokens.bob)).status).toBe(403);
    expect((await call('POST', `/api/v1/requests/${provisionId}/approve`, {}, tokens.ci)).status).toBe(403);
    expect((await call('GET', `/api/v1/requests/${provisionId}`)).body.state).toBe('awaiting_approval');
    tickets!.failFirst = tickets!.calls.length + 3;
    const approved = await call('POST', `/api/v1/requests/${provisionId}/approve`, { comment: 'ok for ACME' }, tokens.alice);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.approval).toMatchObject({ state: 'approved', by: 'alice', via: 'person' });

    // kill -9 once the release is under way, then again while the ticketing system answers 503 and
    // the ticket step is retrying: the restarted server finishes both, repeating nothing done
    await vi.waitFor(async () => expect((await call('GET', `/api/v1/requests/${provisionId}`)).body.currentStep).toBe('release'), { timeout: 240_000, interval: 50 });
    await kill9();
    child = await startChild();
    await vi.waitFor(() => expect(tickets!.calls.filter((c) => c.body.request === provisionId).length).toBeGreaterThanOrEqual(2), { timeout: 240_000, interval: 20 });
    await kill9();
    child = await startChild();
    const done = await untilState(provisionId, ['succeeded', 'failed']);
    expect(done.state, `${done.error}: ${JSON.stringify(done.steps)}`).toBe('succeeded');
    expect(done.steps.map((s: any) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);

    // exactly one fleet commit, naming the request, and one release, of this instance alone
    const commits = git(repo.dir, 'log', '--format=%H', `--grep=Ringmaster-Request: ${provisionId}`, 'main').split('\n').filter(Boolean);
    expect(commits).toEqual([done.links.commit]);
    expect(git(repo.dir, 'show', '--format=%B', '--no-patch', done.links.commit)).toMatch(/Ringmaster-Requested-By: ci\nRingmaster-Ticket: CHG-100/);
    expect(git(repo.dir, 'show', `main:instances/${tenant}.yaml`)).toMatch(/memory: 2Gi/);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
    const releases = (await call('GET', '/api/v1/releases?limit=50')).body.releases.filter((r: any) => (r.message ?? '').startsWith(`request ${provisionId}:`));
    expect(releases.map((r: any) => r.id)).toEqual([done.links.release]);
    expect(releases[0].summary).toMatchObject({ instances: 1, apps: ['shop'] });

    const app = await fleet.client('dev-1').get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: tenant, name: 'shop' });
    expect((app as any).status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');
    const svc = await fleet.client('dev-1').get({ apiVersion: 'v1', kind: 'Service', namespace: tenant, name: 'shop-frontend' });
    expect(await bind!.dig(fqdn(tenant), 'A')).toEqual([(svc as any).spec.clusterIP]);
    // the ticket was updated once (one idempotency key, whatever the restarts), signed
    const calls = tickets!.calls.filter((c) => c.body.request === provisionId);
    expect(calls.map((c) => c.status)).toEqual([503, 503, 503, 200]);
    expect(new Set(calls.map((c) => c.headers['idempotency-key'])).size).toBe(1);
    expect(calls[0]!.body).toMatchObject({ action: 'update', ticket: 'CHG-100', instance: tenant });
    expect(calls[0]!.headers['x-ringmaster-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const logs = (await call('GET', `/api/v1/requests/${provisionId}/logs`, undefined, tokens.viewer)).body.lines;
    expect(logs.map((l: any) => l.message).join('\n')).toMatch(/wrote A .*RFC 2136/);
    const audit = (await call('GET', '/api/v1/audit?limit=200')).body.entries.map((e: any) => `${e.actor} ${e.target}`);
    expect(audit).toEqual(expect.arrayContaining([`ci request/${provisionId}`, `alice request/${provisionId}`]));
  }, 600_000);

  it('operates: a node taken dark after the ticket approves it; a forged or replayed ticket webhook is refused and stored nowhere', async () => {
    const created = await call('POST', '/api/v1/requests', { kind: 'operate', name: tenant, ticket: 'CHG-200', operation: { type: 'setTraffic', node: 'frontend-1', traffic: 'dark' } }, tokens.ci);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    expect(created.body.dryRun.objects.some((o: any) => /traffic/.test(o.note))).toBe(true);
    const payload = { ticket: 'CHG-200', state: 'approved', by: 'change-board' };
    const forged = await ticketHook(payload, { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const stale = await ticketHook(payload, { at: Date.now() - 3600_000 });
    expect(stale.status).toBe(401);
    expect((await call('GET', `/api/v1/requests/${id}`)).body).toMatchObject({ state: 'awaiting_approval', approval: null });
    const delivery = `t-${randomBytes(6).toString('hex')}`;
    const ok = await ticketHook(payload, { delivery });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.requests).toEqual([{ id, state: 'running' }]);
    expect((await ticketHook({ ...payload, state: 'rejected' }, { delivery })).status).toBe(409);
    const done = await untilState(id, ['succeeded', 'failed']);
    expect(done.state, `${done.error}: ${JSON.stringify(done.steps)}`).toBe('succeeded');
    expect(done.approval).toMatchObject({ state: 'approved', by: 'ticket:change-board', via: 'ticket' });
    const client = fleet.client('dev-1');
    const op = await client.get({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: tenant, name: id });
    expect((op as any).status.phase).toBe('Succeeded');
    await vi.waitFor(async () => {
      const slices = await client.list('discovery.k8s.io/v1', 'EndpointSlice', { namespace: tenant, labelSelector: 'kubernetes.io/service-name=shop-frontend' });
      const pods = slices.items.flatMap((s: any) => s.endpoints ?? []).map((e: any) => e.targetRef?.name).sort();
      expect(pods).toEqual(['shop-frontend-0']);
    }, wait);
  }, 300_000);

  it('decommissions: DNS record gone, the instance gone from the fleet repo and the cluster, its data volume kept', async () => {
    // the seed names the tenant: nothing may depend on an instance that goes
    const blocked = await dry({ kind: 'decommission', name: tenant });
    expect(blocked.body.preflight.filter((c: any) => !c.ok).map((c: any) => c.check)).toEqual(['nothing depends on it']);
    expect(checkOf(blocked.body, 'nothing depends on it').reason).toMatch(new RegExp(`instance ${seed} names it`));
    repo.write('instances/all.yaml', seedInstance(prefix, 'none'));
    repo.commit('the seed no longer copies from the tenant');
    const preview = await dry({ kind: 'decommission', name: tenant });
    expect(preview.body.preflight.every((c: any) => c.ok), JSON.stringify(preview.body.preflight)).toBe(true);
    expect(preview.body.dryRun.objects).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'PersistentVolumeClaim', name: 'shop-data', action: 'keep' })]));
    expect(preview.body.dryRun.fleetDiff).toMatch(new RegExp(`deleted file mode|-name: ${tenant}`));
    const created = await call('POST', '/api/v1/requests', { kind: 'decommission', name: tenant, ticket: 'CHG-300', reason: 'ACME left' }, tokens.ci);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.steps.map((s: any) => s.name)).toEqual(['dns', 'volumes', 'commit', 'release', 'ticket']);
    await call('POST', `/api/v1/requests/${created.body.id}/approve`, {}, tokens.alice);
    const done = await untilState(created.body.id, ['succeeded', 'failed']);
    expect(done.state, `${done.error}: ${JSON.stringify(done.steps)}`).toBe('succeeded');
    expect(() => git(repo.dir, 'show', `main:instances/${tenant}.yaml`)).toThrow();
    expect(await bind!.dig(fqdn(tenant), 'A')).toEqual([]);
    const client = fleet.client('dev-1');
    await vi.waitFor(async () => expect(await client.get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: tenant, name: 'shop' })).toBeUndefined(), wait);
    const pvc = await client.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: tenant, name: 'shop-data' });
    expect(pvc?.metadata.deletionTimestamp).toBeUndefined();
    expect(pvc?.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    expect(tickets!.calls.filter((c) => c.body.request === created.body.id).map((c) => c.body.action)).toContain('close');
    const list = (await call('GET', '/api/v1/requests?instance=' + tenant, undefined, tokens.viewer)).body.requests;
    expect(list.map((r: any) => r.kind)).toEqual(['decommission', 'operate', 'provision']);
    expect(list.every((r: any) => r.state === 'succeeded')).toBe(true);
    expect(provisionId).not.toBe('');
  }, 400_000);

  it('the CLI does the same: dry run, create, approve, follow the logs, list', async () => {
    const cli = async (args: string[], token: string) => {
      try {
        const { stdout, stderr } = await run('node', [BIN, ...args], { env: { ...process.env, RINGMASTER_SERVER: url, RINGMASTER_TOKEN: token, NO_COLOR: '1' }, timeout: 300_000 });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const name = `${prefix}-cli`;
    const preview = await cli(['request', 'create', 'provision', name, '--app', 'shop', '--cluster', 'dev-1', '--set', 'frontend.replicas=1', '--dry-run'], tokens.ci);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/In order: commit instances\/.*-cli\.yaml to main/);
    const refused = await cli(['request', 'create', 'provision', name, '--app', 'shop', '--cluster', 'canary-2'], tokens.ci);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cluster labels fit/);
    const created = await cli(['request', 'create', 'provision', name, '--app', 'shop', '--cluster', 'dev-1', '--set', 'frontend.replicas=1', '-o', 'json'], tokens.ci);
    expect(created.code, created.stderr).toBe(0);
    const id = JSON.parse(created.stdout).id as string;
    const approved = await cli(['request', 'approve', id, '--comment', 'from the CLI'], tokens.alice);
    expect(approved.code, approved.stderr).toBe(0);
    const logs = await cli(['request', 'logs', id, '--follow'], tokens.viewer);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/every step succeeded/);
    const shown = await cli(['request', 'show', id, '-o', 'json'], tokens.viewer);
    expect(JSON.parse(shown.stdout).state).toBe('succeeded');
    const list = await cli(['request', 'list', '--instance', name], tokens.viewer);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+provision\\s+succeeded`));
    expect(await bind!.dig(fqdn(name), 'A')).toHaveLength(1);
  }, 300_000);
});
