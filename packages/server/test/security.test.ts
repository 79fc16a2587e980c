// Attacks an insider with ordinary access could make on the API (issue 9): each test reproduces one
// and shows it refused, with nothing stored and every other call still working.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '@ringmaster/fleet';
import { createServer, type RingmasterServer } from '../src/index.ts';
import { applyImageOverride } from '../src/flighting/render.ts';
import { InputError } from '../src/errors.ts';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, tempDir } from './flighting/fixture.ts';

const dirs: string[] = [];
const dataDir = () => {
  const d = tempDir('data');
  dirs.push(d);
  return { dataDir: d };
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sha = (n: number) => n.toString(16).padStart(40, '0');

describe('the API under attack by its own users', () => {
  let s: TestServer;
  let fleet: FleetRepo;
  let remote: string;
  let work: string;
  beforeAll(async () => {
    fleet = new FleetRepo('sec');
    fleet.commit('initial fleet');
    remote = manifestRemote();
    work = tempDir('work');
    // the engine stays off: these tests look at what the API lets a caller do, not at delivery
    s = await startTestServer(dataDir(), {
      flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, engine: false },
    });
  });
  afterAll(async () => {
    await s?.close();
    for (const d of [fleet?.dir, remote, work]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('refuses an image path through __proto__ or constructor, and every call keeps working afterwards', async () => {
    const deployer = await s.token('deployer');
    for (const path of ['__proto__.polluted', 'constructor.prototype.polluted', 'image.__proto__']) {
      const res = await s.call('POST', '/api/v1/releases', { token: deployer, body: { revision: 'main', image: { app: 'appserver', image: 'evil:1', path } } });
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('image.path');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await s.call('GET', '/api/v1/tokens')).status).toBe(200);
    expect((await s.call('POST', '/api/v1/events', { body: { kind: 'commit', app: 'appserver', commit: sha(1) } })).status).toBe(201);
    expect((await s.call('PUT', '/api/v1/settings', { body: { rings: ['dev', 'canary', 'prod'] } })).status).toBe(200);
    expect((await s.call('GET', '/api/v1/releases', { token: deployer })).body.releases).toEqual([]);
  });

  it('never walks an image path into a prototype, even from an override stored before the check', () => {
    const app = { name: 'shop', values: { image: 'shop:1' } };
    const fleetOf = { apps: new Map([['shop', app]]) } as unknown as Fleet;
    expect(() => applyImageOverride(fleetOf, { app: 'shop', image: 'x:1', path: '__proto__.polluted' })).toThrow(InputError);
    expect(() => applyImageOverride(fleetOf, { app: 'shop', image: 'x:1', path: 'a.constructor.prototype.b' })).toThrow(/not allowed as a key/);
    // an inherited property (toString) is not a value of the app: the path creates its own map
    const out = applyImageOverride(fleetOf, { app: 'shop', image: 'x:2', path: 'toString.image' });
    expect((out.apps.get('shop')!.values as any).toString).toEqual({ image: 'x:2' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses settings that name a prototype key or a ring the fleet could not have', async () => {
    expect((await s.call('PUT', '/api/v1/settings', { body: { rings: ['dev', 'canary', 'prod'] } })).status).toBe(200);
    const res = await s.call('PUT', '/api/v1/settings', { raw: '{"__proto__": {"polluted": true}, "rings": ["dev"]}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    // a ring name becomes an object key in the dashboard's views: it follows the fleet's name rule
    const ring = await s.call('PUT', '/api/v1/settings', { body: { rings: ['dev', '__proto__'] } });
    expect(ring.status).toBe(400);
    expect(ring.body.error.field).toBe('rings.1');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await s.call('GET', '/api/v1/settings')).body.rings).toEqual(['dev', 'canary', 'prod']);
  });

  it('keeps a ring-scoped deployer out of every action on a release that touches another ring', async () => {
    const rel = (await s.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    expect(rel.summary.rings).toMatchObject({ dev: 1, prod: 3 });
    const devOnly = await s.token('deployer', { rings: ['dev'] });
    const otherApp = await s.token('deployer', { apps: ['billing'] });
    for (const token of [devOnly, otherApp]) {
      for (const action of ['pause', 'resume', 'abort', 'rollback']) {
        const res = await s.call('POST', `/api/v1/releases/${rel.id}/${action}`, { token, body: {} });
        expect(res.status, `${action}`).toBe(403);
        expect(res.body.error.message).toMatch(/not scoped to (ring "(canary|prod)"|app "appserver")/);
      }
      expect((await s.call('POST', `/api/v1/releases/${rel.id}/approve`, { token, body: { ring: 'prod' } })).status).toBe(403);
    }
    const view = (await s.call('GET', `/api/v1/releases/${rel.id}`)).body;
    expect(view).toMatchObject({ state: 'pending', paused: false });
    expect(view.approvals).toEqual([]);
    // a deployer scoped to every ring the release touches may act on it
    const all = await s.token('deployer', { apps: ['appserver'], rings: ['dev', 'canary', 'prod'] });
    expect((await s.call('POST', `/api/v1/releases/${rel.id}/pause`, { token: all, body: {} })).body.paused).toBe(true);
    expect((await s.call('POST', `/api/v1/releases/${rel.id}/abort`, { token: all, body: {} })).body.state).toBe('aborted');
  });

  it('adds no approval row for a refused approval: refusals live in the audit only', async () => {
    const rel = (await s.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const viewer = await s.token('viewer');
    for (let i = 0; i < 3; i++) expect((await s.call('POST', `/api/v1/releases/${rel.id}/approve`, { token: viewer, body: { ring: 'prod' } })).status).toBe(403);
    const rows = await s.storage.db.selectFrom('release_approvals').selectAll().where('release_id', '=', rel.id).execute();
    expect(rows).toEqual([]);
    const audit = (await s.call('GET', '/api/v1/audit?limit=20')).body.entries.filter((e: any) => e.target === `release/${rel.id}` && e.result === 'denied');
    expect(audit).toHaveLength(3);
    await s.call('POST', `/api/v1/releases/${rel.id}/abort`, { body: {} });
  });

  it('scope-checks an event by the ring of its cluster and the app of its instance when it leaves them out', async () => {
    const known = { kind: 'health', cluster: 'prod-1', instance: 'sec-prod-1', app: 'appserver', ring: 'prod', status: 'Healthy', idempotencyKey: 'seed-prod-1' };
    expect((await s.call('POST', '/api/v1/events', { body: known })).status).toBe(201);
    const count = async () => (await s.storage.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const before = await count();
    const devOnly = await s.token('deployer', { rings: ['dev'] });
    const billing = await s.token('deployer', { apps: ['billing'] });
    const attacks = [
      { token: devOnly, body: { kind: 'health', cluster: 'prod-1', instance: 'sec-prod-1', status: 'Degraded' } },
      { token: devOnly, body: { kind: 'health', cluster: 'prod-1', instance: 'sec-prod-1', ring: 'dev', status: 'Degraded' } },
      { token: devOnly, body: { events: [{ kind: 'commit', commit: sha(9) }, { kind: 'sync', cluster: 'prod-1', instance: 'sec-prod-1', status: 'OutOfSync' }] } },
      { token: devOnly, body: { kind: 'health', cluster: 'unknown-9', instance: 'x', status: 'Degraded' } },
      { token: billing, body: { kind: 'health', cluster: 'prod-1', instance: 'sec-prod-1', status: 'Degraded' } },
    ];
    for (const a of attacks) {
      const res = await s.call('POST', '/api/v1/events', a);
      expect(res.status, JSON.stringify(a.body)).toBe(403);
    }
    expect(await count()).toBe(before);
    const fleetView = (await s.call('GET', '/api/v1/fleet?cluster=prod-1')).body;
    expect(JSON.stringify(fleetView)).not.toMatch(/Degraded/);
    // inside its scope the same token still reports
    expect((await s.call('POST', '/api/v1/events', { token: devOnly, body: { kind: 'health', cluster: 'dev-9', ring: 'dev', instance: 'x', status: 'Healthy' } })).status).toBe(201);
  });

  it('refuses app names the fleet would refuse, naming the field and the reason', async () => {
    for (const name of ['..%2F..%2Fetc', '%20', '__proto__', 'Shop', 'constructor.x']) {
      const res = await s.call('PUT', `/api/v1/apps/${name}`, { body: { team: 'x' } });
      expect(res.status, name).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field: 'app' });
      expect(res.body.error.message).toMatch(/DNS-1123/);
    }
    expect((await s.call('GET', '/api/v1/apps')).body.apps).toEqual([]);
    expect((await s.call('PUT', '/api/v1/apps/shop', { body: { team: 'web' } })).status).toBe(200);
  });
});

describe('request logs', () => {
  let server: RingmasterServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('never write a query value, an Authorization header or a cookie', async () => {
    const lines: string[] = [];
    server = await createServer({ ...(dataDir()), logLevel: 'info', logStream: { write: (l) => void lines.push(l) } });
    const secret = 'rmt_' + 'S3cr3tT0ken'.repeat(3);
    for (const url of [`/api/v1/changes?token=${secret}`, `/api/v1/changes?limit=5&access_token=${secret}`, `/nowhere?x=${secret}`]) {
      await server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${secret}`, cookie: `session=${secret}` } });
    }
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    expect(log).toContain('/api/v1/changes?token=***');
    expect(log).toContain('limit=***&access_token=***');
    expect(log).not.toContain(secret);
    expect(log).not.toContain('S3cr3t');
  });
});
