import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BACKENDS, startTestServer, useBackends } from './helpers/harness.ts';
import { createContext, FlightEngine } from '../src/index.ts';
import { FleetRepo, manifestCommits, manifestRemote, rings, tempDir } from './flighting/fixture.ts';

// Release bookkeeping (creation, gates, approvals, pause, abort, history) on both databases; the
// delivery itself is covered by flighting.test.ts. Every cluster here waits behind a manual gate.
const backends = useBackends();

describe.each(BACKENDS)('releases on %s', (backend) => {
  it('creates a release, holds it at the approval gate, pauses, aborts and keeps the history', async () => {
    const defs = rings({ canaryApproval: 'manual' }).map((r) => (r.name === 'dev' ? { ...r, policy: r.policy.replace('approval: auto', 'approval: manual') } : r));
    const fleet = new FleetRepo('pg', defs);
    fleet.commit('initial');
    const remote = manifestRemote();
    const work = tempDir('work');
    const server = await startTestServer(await backends.options(backend), {
      flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, timeScale: 0.1, pollIntervalMs: 50 },
    });
    try {
      const created = await server.call('POST', '/api/v1/releases', { body: { revision: 'main', message: 'on ' + backend } });
      expect(created.status).toBe(201);
      const id = created.body.id;
      const rel = await vi.waitFor(async () => {
        const r = (await server.call('GET', `/api/v1/releases/${id}`)).body;
        expect(r.state).toBe('waiting_for_approval');
        return r;
      }, { timeout: 5_000, interval: 50 });
      expect(rel.rings.map((r: any) => r.state)).toEqual(['waiting_for_approval', 'pending', 'pending']);
      // a second release of the same app queues behind the first (docs/flighting.md, Concurrent releases)
      const second = await server.call('POST', '/api/v1/releases', { body: { revision: 'main' } });
      expect([second.status, second.body.state, second.body.waitsFor]).toEqual([201, 'queued', [id]]);

      const deployer = await server.token('deployer');
      expect((await server.call('POST', `/api/v1/releases/${id}/approve`, { body: { ring: 'prod' }, token: deployer })).status).toBe(403);
      expect((await server.call('POST', `/api/v1/releases/${id}/pause`, { body: {}, token: deployer })).body.paused).toBe(true);
      const pre = await server.call('POST', `/api/v1/releases/${id}/approve`, { body: { ring: 'prod', comment: 'pre-approved' } });
      expect(pre.body.rings[2].approval.approvedBy).toMatch(/^admin-/);
      const aborted = await server.call('POST', `/api/v1/releases/${id}/abort`, { body: { reason: 'wrong revision' }, token: deployer });
      expect(aborted.body.state).toBe('aborted');
      expect(aborted.body.reason).toMatch(/wrong revision/);
      expect(aborted.body.rings.map((r: any) => r.state)).toEqual(['aborted', 'aborted', 'aborted']);
      expect(aborted.body.progress).toMatchObject({ clusters: 6, pending: 0, succeeded: 0 });
      expect((await server.call('POST', `/api/v1/releases/${id}/rollback`, { body: {} })).status).toBe(409);
      expect(manifestCommits(remote)).toEqual([]);

      const list = await server.call('GET', '/api/v1/releases?state=aborted');
      expect(list.body.releases.map((r: any) => [r.id, r.state, r.message])).toEqual([[id, 'aborted', 'on ' + backend]]);
      expect(aborted.body.approvals.map((a: any) => [a.ring, a.result])).toEqual([['prod', 'approved']]);
      const events = await server.storage.db.selectFrom('events').select(['kind', 'status']).where('release_id', '=', id).execute();
      expect(events.map((e) => `${e.kind}:${e.status}`)).toEqual(expect.arrayContaining(['release:created', 'release:started', 'promotion.step:waiting', 'promotion.step:approved', 'release:aborted']));
      expect((await server.call('GET', '/api/v1/releases/nope')).status).toBe(404);

      // a second control plane on the same database does not run the engine while the first holds the lease
      const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const other = new FlightEngine(createContext(server.storage, { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: join(work, 'other') }, async () => undefined, quiet));
      expect(await other.holdLease()).toBe(backend === 'postgres' ? 'taken' : 'sole');

      if (backend === 'sqlite') {
        // retention is a setting; an expired release is deleted with an audit record, never silently
        await server.storage.db.updateTable('releases').set({ finished_at: Date.now() - 3 * 86_400_000 }).where('id', '=', id).execute();
        const keeper = new FlightEngine(createContext(server.storage, { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: join(work, 'other'), retentionDays: 7 }, async () => undefined, quiet));
        await keeper.tick();
        expect((await server.call('GET', `/api/v1/releases/${id}`)).status).toBe(200);
        const expiring = new FlightEngine(createContext(server.storage, { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: join(work, 'other'), retentionDays: 2 }, async () => undefined, quiet));
        await expiring.tick();
        expect((await server.call('GET', `/api/v1/releases/${id}`)).status).toBe(404);
        expect(await server.storage.db.selectFrom('release_steps').selectAll().where('release_id', '=', id).execute()).toEqual([]);
        const audit = (await server.call('GET', '/api/v1/audit?limit=5')).body.entries;
        expect(audit.find((e: any) => e.action === 'release.expire')).toMatchObject({ actor: 'ringmaster', target: `release/${id}`, details: { retentionDays: 2, state: 'aborted' } });
      }
    } finally {
      await server.close();
      for (const d of [fleet.dir, remote, work]) rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});
