// Windows and freezes over the real server: a real fleet repo (Git), real SQLite, HTTP. No cluster
// is needed: what is asserted is whether a ring starts, not how its clusters are delivered to.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, tempDir } from './flighting/fixture.ts';

const MONDAY_NINE_BERLIN = Date.parse('2026-06-08T07:00:00Z');
const WINDOW = '{ approval: auto, maxFailures: 0, windows: [{ schedule: "0 9 * * 1-4", duration: 7h, timeZone: Europe/Berlin }] }';

let server: TestServer;
let fleet: FleetRepo;
let remote: string;
let work: string;
let data: string;
/** The engine's clock is the real one shifted by this much (the window test moves it to just before the window opens). */
let shift = 0;
const options = () => ({ flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, pollIntervalMs: 50, now: () => Date.now() + shift } });

beforeAll(async () => {
  fleet = new FleetRepo('frz', [{ name: 'dev', policy: '{ approval: auto, maxFailures: 0 }' }], [{ name: 'dev-1', ring: 'dev', mode: 'direct' }]);
  fleet.commit('one ring, no window');
  remote = manifestRemote();
  work = tempDir('work');
  data = tempDir('data');
  server = await startTestServer({ dataDir: data }, options());
}, 60_000);

afterAll(async () => {
  await server?.close();
  for (const d of [fleet?.dir, remote, work, data]) if (d) rmSync(d, { recursive: true, force: true });
});

const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'ringmaster.js');
async function cli(args: string[], token = server.admin): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [BIN, ...args], { env: { ...process.env, RINGMASTER_SERVER: server.url, RINGMASTER_TOKEN: token } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const release = async (id: string) => (await server.call('GET', `/api/v1/releases/${id}`)).body;
const dev = async (id: string) => (await release(id)).rings[0];
const abort = async (id: string) => expect((await server.call('POST', `/api/v1/releases/${id}/abort`, { body: { reason: 'test done' } })).status).toBe(200);

describe('an organisation-wide freeze', () => {
  it('refuses a start without a reason (400, field reason), a viewer (403), and writes nothing', async () => {
    for (const body of [{}, { reason: '   ' }, { reason: 'x', extra: 1 }]) {
      const bad = await server.call('POST', '/api/v1/freeze', { body });
      expect(bad.status, JSON.stringify(bad.body)).toBe(400);
      expect(bad.body.error.code).toBe('RINGMASTER_INVALID_INPUT');
    }
    expect((await server.call('POST', '/api/v1/freeze', { body: {} })).body.error.field).toBe('reason');
    const viewer = await server.token('viewer');
    expect((await server.call('POST', '/api/v1/freeze', { body: { reason: 'mine' }, token: viewer })).status).toBe(403);
    expect((await server.call('POST', '/api/v1/freeze/end', { body: {}, token: viewer })).status).toBe(403);
    expect((await server.call('GET', '/api/v1/freeze', { token: viewer })).body).toEqual({ active: false, freeze: null });
    expect((await server.call('POST', '/api/v1/freeze/end', { body: {} })).status).toBe(409);
  });

  it('holds a release before its ring, shows the freeze, resumes it when it ends, and audits both', async () => {
    const approver = await server.token('approver');
    const started = await server.call('POST', '/api/v1/freeze', { body: { reason: 'quarter close' }, token: approver });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({ active: true, freeze: { reason: 'quarter close', endedAt: null } });
    expect((await server.call('POST', '/api/v1/freeze', { body: { reason: 'again' } })).status).toBe(409);

    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    await expect.poll(async () => (await dev(rel.id)).gate, { timeout: 20_000, interval: 100 }).toEqual({ kind: 'freeze', reason: 'quarter close' });
    expect((await dev(rel.id)).state).toBe('pending');
    expect((await release(rel.id)).rings[0].waves[0].clusters[0].state).toBe('pending');

    const ended = await server.call('DELETE', '/api/v1/freeze', { token: approver });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body).toMatchObject({ active: false, freeze: { reason: 'quarter close' } });
    // the end wakes the engine: the ring starts
    await expect.poll(async () => (await dev(rel.id)).startedAt, { timeout: 20_000, interval: 100 }).not.toBeNull();
    await abort(rel.id);

    const audit = (await server.call('GET', '/api/v1/audit?limit=20')).body.entries as Array<{ action: string; target: string; result: string; details: any }>;
    expect(audit).toContainEqual(expect.objectContaining({ action: 'POST /api/v1/freeze', target: 'freeze/1', result: 'ok', details: { reason: 'quarter close' } }));
    expect(audit).toContainEqual(expect.objectContaining({ action: 'DELETE /api/v1/freeze', target: 'freeze/1', result: 'ok' }));
    expect(audit).toContainEqual(expect.objectContaining({ action: 'POST /api/v1/freeze', target: 'freeze', result: 'denied' }));
  }, 60_000);

  it('lets an admin override the freeze for one release, with a reason, shown on the release', async () => {
    expect((await server.call('POST', '/api/v1/freeze', { body: { reason: 'incident' } })).status).toBe(201);
    // a new tag: the release before may have delivered dev-1 already
    const sha = fleet.setTag('1.1.0');
    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: sha } })).body;
    await expect.poll(async () => (await dev(rel.id)).gate?.kind, { timeout: 20_000, interval: 100 }).toBe('freeze');
    const approver = await server.token('approver');
    expect((await server.call('POST', `/api/v1/releases/${rel.id}/override`, { body: { gate: 'freeze', reason: 'the fix' }, token: approver })).status).toBe(403);
    expect((await server.call('POST', `/api/v1/releases/${rel.id}/override`, { body: { gate: 'freeze' } })).body.error.field).toBe('reason');
    expect((await server.call('POST', `/api/v1/releases/${rel.id}/override`, { body: { gate: 'moon', reason: 'x' } })).body.error.field).toBe('gate');
    const over = await server.call('POST', `/api/v1/releases/${rel.id}/override`, { body: { gate: 'freeze', reason: 'the fix for the incident' } });
    expect(over.status, JSON.stringify(over.body)).toBe(200);
    expect(over.body.overrides).toEqual([expect.objectContaining({ gate: 'freeze', reason: 'the fix for the incident' })]);
    await expect.poll(async () => (await dev(rel.id)).startedAt, { timeout: 20_000, interval: 100 }).not.toBeNull();
    await abort(rel.id);
  }, 60_000);

  it('survives a restart of the server', async () => {
    await server.close();
    server = await startTestServer({ dataDir: data }, options());
    expect((await server.call('GET', '/api/v1/freeze')).body).toMatchObject({ active: true, freeze: { reason: 'incident' } });
    expect((await server.call('POST', '/api/v1/freeze/end', { body: { reason: 'resolved' } })).body).toMatchObject({ active: false, freeze: { endReason: 'resolved' } });
  }, 60_000);
});

describe('the freeze from the CLI', () => {
  it('starts, shows and ends a freeze; a viewer may look but not start one', async () => {
    const viewer = await server.token('viewer');
    const refused = await cli(['freeze', 'start', '--reason', 'mine'], viewer);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/this call needs approver/);
    const started = await cli(['freeze', 'start', '--reason', 'release train']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^FROZEN since .* by admin-\d+: release train/);
    const status = await cli(['freeze', 'status', '--output', 'json'], viewer);
    expect(JSON.parse(status.stdout)).toMatchObject({ active: true, freeze: { reason: 'release train' } });
    const ended = await cli(['freeze', 'end', '--reason', 'train left']);
    expect(ended.stdout).toMatch(/^not frozen \(the last freeze, "release train" .*: train left\)/);
  }, 60_000);
});

describe('a deployment window', () => {
  it('holds a release until the window opens, says when, and starts it then', async () => {
    // a new tag: the earlier releases may have delivered dev-1 already
    fleet.setTag('2.0.0');
    fleet.write('ringmaster.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: test\nrings:\n  - name: dev\n    policy: ${WINDOW}\nregions:\n  - name: eu\n`);
    const sha = fleet.commit('dev only Mon–Thu 09:00–16:00 Berlin');
    // the engine's clock: a few seconds before Monday 09:00 in Berlin
    shift = MONDAY_NINE_BERLIN - 15_000 - Date.now();
    const rel = (await server.call('POST', '/api/v1/releases', { body: { revision: sha } })).body;
    expect(rel.rings[0].policy.windows).toEqual([{ schedule: '0 9 * * 1-4', durationMs: 7 * 3_600_000, timeZone: 'Europe/Berlin' }]);
    const r = await dev(rel.id);
    expect(r, JSON.stringify([new Date(Date.now() + shift), r])).toMatchObject({ state: 'pending', gate: { kind: 'window', opensAt: '2026-06-08T07:00:00.000Z' } });
    await expect.poll(async () => (await dev(rel.id)).startedAt, { timeout: 30_000, interval: 100 }).not.toBeNull();
    const events = (await server.call('GET', `/api/v1/releases/${rel.id}/events`)).body.events as Array<{ status: string; data: any }>;
    expect(events).toContainEqual(expect.objectContaining({ status: 'waiting', data: { gate: 'window', opensAt: '2026-06-08T07:00:00.000Z' } }));
    await abort(rel.id);
  }, 60_000);
});
