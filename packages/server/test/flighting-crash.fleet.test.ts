import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '@ringmaster/kube';
import { createToken, openStorage } from '../src/index.ts';
import { FleetRepo, manifestCommits, manifestRemote, rings, tempDir } from './flighting/fixture.ts';
import { SharedFleet } from './flighting/fleet-info.ts';
import { killChild, startChild as startServerChild } from './helpers/child.ts';

const CHILD = join(import.meta.dirname, 'flighting', 'serve-child.ts');
const KILLS = 20;

let fleet: SharedFleet;
let child: ChildProcess | undefined;
const dirs: string[] = [];
const prefix = `crash${process.pid % 1000}`;

beforeAll(() => {
  fleet = new SharedFleet();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await fleet?.cleanup(prefix);
  fleet?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

const startChild = (env: Record<string, string>) => startServerChild(CHILD, env);
const kill = killChild;

it(`finishes every rollout with exactly one manifest commit per cluster and step across ${KILLS} SIGKILLs`, async () => {
  const repo = new FleetRepo(prefix, rings());
  repo.commit('initial fleet');
  const remote = manifestRemote();
  const work = tempDir('crash-work');
  const data = tempDir('crash-data');
  dirs.push(repo.dir, remote, work, data);
  const storage = await openStorage({ dataDir: data });
  const { token } = await createToken(storage, { name: 'crash-admin', role: 'admin' });
  await storage.close();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    RINGMASTER_TEST_CONFIG: JSON.stringify({ dataDir: data, port, fleetRepo: repo.dir, remote, workDir: work, kubeconfig: fleet.kubeconfigPath, timeScale: 0.3, pollIntervalMs: 100 }),
  };

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as any };
  };

  // three releases: a good one, a bad image (its Pods crash-loop) that halts in dev and rolls back, and a fix
  const plan: Array<{ body: unknown; expect: string }> = [
    { body: { revision: 'main', message: 'first' }, expect: 'succeeded' },
    { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:6.6.6-bad' } }, expect: 'rolled_back' },
    { body: { revision: 'main', image: { app: 'appserver', image: 'appserver:2.0.0' } }, expect: 'succeeded' },
  ];
  const ids: string[] = [];
  const killPoints: string[] = [];
  let kills = 0;
  child = await startChild(env);
  for (;;) {
    const current = ids.length ? (await call('GET', `/api/v1/releases/${ids[ids.length - 1]}`)).body : undefined;
    const finished = current && ['succeeded', 'failed', 'halted', 'aborted', 'rolled_back'].includes(current.state);
    if (!current || finished) {
      if (ids.length === plan.length) {
        if (kills >= KILLS) break;
      } else {
        const next = plan[ids.length]!;
        const created = await call('POST', '/api/v1/releases', next.body);
        expect(created.status).toBe(201);
        ids.push(created.body.id);
      }
    }
    if (kills < KILLS) {
      await sleep(50 + Math.floor(Math.random() * 600));
      const at = (await call('GET', `/api/v1/releases/${ids[ids.length - 1]}`).catch(() => undefined))?.body;
      killPoints.push(`${at?.state}/${at?.phase}:${at?.progress?.succeeded}`);
      await kill(child);
      kills++;
      child = await startChild(env);
    } else {
      await sleep(200);
    }
  }
  await kill(child);
  child = undefined;
  expect(kills).toBe(KILLS);
  // most kills land while a release is moving, not between releases
  expect(killPoints.filter((p) => p.startsWith('in_progress')).length, killPoints.join(', ')).toBeGreaterThanOrEqual(KILLS / 2);

  child = await startChild(env);
  for (const [i, id] of ids.entries()) {
    const rel = (await call('GET', `/api/v1/releases/${id}`)).body;
    expect(rel.state, `release ${i} (${id}): ${rel.reason}; killed at ${killPoints.join(', ')}`).toBe(plan[i]!.expect);
    const commits = manifestCommits(remote).filter((c) => c.release === id);
    const keys = commits.map((c) => `${c.step}/${c.cluster}`);
    expect(new Set(keys).size, `duplicate commits for ${id}: ${keys.join(', ')}`).toBe(keys.length);
    const clusters = rel.rings.flatMap((r: any) => r.waves.flatMap((w: any) => w.clusters));
    if (plan[i]!.expect === 'succeeded') {
      expect(clusters.map((c: any) => c.state)).toEqual(Array(6).fill('succeeded'));
      expect(keys.sort()).toEqual(['canary-1', 'canary-2', 'dev-1', 'prod-1', 'prod-2', 'prod-3'].map((c) => `deliver/${c}`));
      for (const c of clusters) expect(commits.map((m) => m.sha)).toContain(c.manifestCommit);
    } else {
      expect(keys.sort()).toEqual(['deliver/dev-1', 'rollback/dev-1']);
      expect(rel.rollback.clusters.map((c: any) => c.state)).toEqual(['succeeded']);
    }
    // the journey holds each cluster step once, whatever the crashes
    const events = await fetch(`${url}/api/v1/releases/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(events.status).toBe(200);
  }
  await kill(child);
  child = undefined;
  const db = await openStorage({ dataDir: data });
  try {
    for (const [i, id] of ids.entries()) {
      const steps = await db.db.selectFrom('events').select(['cluster', 'status', 'data']).where('release_id', '=', id).where('kind', '=', 'promotion.step').where('cluster', 'is not', null).execute();
      const seen = steps.map((e) => `${e.cluster}:${(JSON.parse(e.data ?? '{}') as { step?: string }).step}:${e.status}`);
      expect(new Set(seen).size).toBe(seen.length);
      // every step is in the journey, whatever the crashes: events are written before the state that follows them
      const expected = plan[i]!.expect === 'succeeded'
        ? ['canary-1', 'canary-2', 'dev-1', 'prod-1', 'prod-2', 'prod-3'].flatMap((c) => [`${c}:deliver:started`, `${c}:deliver:succeeded`])
        : ['dev-1:deliver:failed', 'dev-1:deliver:started', 'dev-1:rollback:rolled_back', 'dev-1:rollback:started'];
      expect(seen.sort()).toEqual(expected.sort());
    }
  } finally {
    await db.close();
  }
}, 600_000);
