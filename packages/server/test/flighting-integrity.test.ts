// Delivery integrity under faults (issue 9): a manifest push slower than the action timeout, and a
// Kubernetes API that goes away and comes back. Real git (a bare repo with slow hooks), the real
// local kube-apiserver, a real TCP proxy standing in for the network.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startLocalKube, type LocalKube } from '@ringmaster/kube';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FakeControllers, FleetRepo, git, manifestCommits, manifestRemote, tempDir, type ClusterDef, type RingDef } from './flighting/fixture.ts';
import type { FlightingOptions } from '../src/index.ts';

let kube: LocalKube;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  kube = await startLocalKube();
}, 240_000);

afterAll(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
  await kube?.stop();
}, 60_000);

const DEV: RingDef[] = [{ name: 'dev', policy: '{ approval: auto, soak: 1s, maxFailures: 0, autoRollback: true, progressDeadline: 2m }' }];
const ONE: ClusterDef[] = [{ name: 'dev-1', ring: 'dev', mode: 'direct' }];
let seq = 0;

async function setup(flighting: Partial<FlightingOptions> = {}) {
  const prefix = `i${process.pid % 1000}x${++seq}`;
  const fleet = new FleetRepo(prefix, DEV, ONE);
  fleet.commit('initial fleet');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  const server = await startTestServer({ dataDir: data }, {
    flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, access: { kubeconfig: kube.kubeconfigPath }, timeScale: 0.1, pollIntervalMs: 100, ...flighting },
  });
  const fake = new FakeControllers(kube.client, remote, prefix);
  fake.start();
  cleanup.push(async () => {
    await fake.stop();
    await server.close();
    for (const d of [fleet.dir, remote, work, data]) rmSync(d, { recursive: true, force: true });
  });
  return { server, fleet, remote, prefix };
}

async function waitState(server: TestServer, id: string, states: string[], timeoutMs = 90_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rel = (await server.call('GET', `/api/v1/releases/${id}`)).body;
    if (states.includes(rel.state)) return rel;
    if (Date.now() > until) throw new Error(`release ${id} is ${rel.state}, not ${states.join('|')}: ${JSON.stringify(rel.rings?.[0]?.waves?.[0]?.clusters)}`);
    await sleep(100);
  }
}

/** A hook of the manifest repo that, for commits delivering a release, records its pid and waits for the test's gate. */
function slowDeliveryHook(remote: string, name: 'pre-receive' | 'post-receive'): { pidFile: string; gate: string } {
  const dir = tempDir('hook');
  cleanup.push(() => {
    writeFileSync(join(dir, 'gate'), '');
    rmSync(dir, { recursive: true, force: true });
  });
  const pidFile = join(dir, 'pid');
  const gate = join(dir, 'gate');
  const file = join(remote, 'hooks', name);
  writeFileSync(file, [
    '#!/bin/sh',
    'while read old new ref; do',
    '  if git log -1 --format=%B "$new" | grep -q "^Ringmaster-Step: deliver"; then',
    `    echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}`,
    `    while [ ! -e ${gate} ]; do sleep 0.05; done`,
    '  fi',
    'done', '',
  ].join('\n'));
  chmodSync(file, 0o755);
  return { pidFile, gate };
}

/** Running (a killed process nobody reaped yet runs nothing). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('a manifest push slower than the action timeout', () => {
  it('is cancelled; when it landed anyway, the cluster is recorded as changed and rolled back with the release', async () => {
    const remote = manifestRemote();
    const hook = slowDeliveryHook(remote, 'post-receive');
    const s = await setup({ manifestRepo: { url: remote }, actionTimeoutMs: 4000 });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const done = await waitState(s.server, rel.id, ['rolled_back', 'failed', 'succeeded']);
    expect(existsSync(hook.pidFile)).toBe(true);
    expect(isAlive(Number(readFileSync(hook.pidFile, 'utf8')))).toBe(false);

    const step = done.rings[0].waves[0].clusters[0];
    expect(step.state).toBe('rolled_back');
    expect(step.reason).toMatch(/manifest write for cluster dev-1 did not finish within 4s .*its commit [0-9a-f]{12} landed/);
    expect(done.state).toBe('rolled_back');
    // the rollback covers the cluster whose manifest changed, and the manifest repo says so
    expect(done.rollback.clusters.map((c: any) => [c.cluster, c.state])).toEqual([['dev-1', 'succeeded']]);
    const commits = manifestCommits(remote).filter((c) => c.release === rel.id);
    expect(commits.map((c) => `${c.step}/${c.cluster}`)).toEqual(['rollback/dev-1', 'deliver/dev-1']);
    expect(step.manifestCommit).toBe(commits[1]!.sha);
    expect(git(remote, 'ls-tree', '--name-only', 'main')).not.toContain('dev-1');
    expect(await s.server.storage.db.selectFrom('delivered').selectAll().execute()).toEqual([]);
  }, 180_000);

  it('is cancelled with its hooks before it lands: nothing is written, nothing to roll back, nothing lands later', async () => {
    const remote = manifestRemote();
    const hook = slowDeliveryHook(remote, 'pre-receive');
    const s = await setup({ manifestRepo: { url: remote }, actionTimeoutMs: 4000 });
    const before = git(remote, 'rev-parse', 'main');
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const done = await waitState(s.server, rel.id, ['rolled_back', 'failed', 'succeeded', 'halted']);
    // the push and its hook are gone: opening the gate now can land nothing
    expect(isAlive(Number(readFileSync(hook.pidFile, 'utf8')))).toBe(false);
    writeFileSync(hook.gate, '');
    const step = done.rings[0].waves[0].clusters[0];
    expect(step.reason).toMatch(/did not finish within 4s .*nothing was written to the manifest repo/);
    expect(step.manifestCommit).toBeNull();
    expect(done.rollback).toBeNull();
    expect(git(remote, 'rev-parse', 'main')).toBe(before);
    expect(await s.server.storage.db.selectFrom('delivered').selectAll().execute()).toEqual([]);
  }, 180_000);
});

/** A TCP proxy to the API server that can be "down" (nothing listens on its port) and come back on the same port. */
class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    this.server = createServer((c) => {
      const u = connect(this.target.port, this.target.host);
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      c.pipe(u).pipe(c);
    });
    await new Promise<void>((resolve, reject) => this.server!.once('error', reject).listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

describe('a Kubernetes API outage', () => {
  it('holds the step in flight, retrying with backoff, and delivers once the API is back', async () => {
    const text = readFileSync(kube.kubeconfigPath, 'utf8');
    const target = /server: https:\/\/([^:\s]+):(\d+)/.exec(text)!;
    const outage = new Outage(await freePort(), { host: target[1]!, port: Number(target[2]) });
    cleanup.push(() => outage.down());
    const dir = tempDir('kubeconfig');
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const viaProxy = join(dir, 'kubeconfig');
    writeFileSync(viaProxy, text.replace(/server: https:\/\/[^\s]+/, `server: https://127.0.0.1:${outage.port}`));

    const s = await setup({ access: { kubeconfig: kube.kubeconfigPath, clusters: { 'dev-1': { kubeconfig: viaProxy } } } });
    const rel = (await s.server.call('POST', '/api/v1/releases', { body: { revision: 'main' } })).body;
    const until = Date.now() + 60_000;
    let step: any;
    for (;;) {
      step = (await s.server.call('GET', `/api/v1/releases/${rel.id}`)).body.rings[0].waves[0].clusters[0];
      if (/^retrying \(attempt [3-9]/.test(step.reason ?? '') || step.state !== 'in_progress' || Date.now() > until) break;
      await sleep(100);
    }
    expect(step.state).toBe('in_progress');
    expect(step.reason).toMatch(/^retrying \(attempt \d+, next in \d+s\): unreachable: .*127\.0\.0\.1/);

    await outage.up();
    const done = await waitState(s.server, rel.id, ['succeeded', 'halted', 'failed', 'rolled_back']);
    expect(done.state).toBe('succeeded');
    expect(done.rings[0].waves[0].clusters[0]).toMatchObject({ state: 'succeeded', reason: null });
    const backend = await kube.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: `${s.prefix}-dev-1`, name: 'backend' });
    expect(backend).toBeDefined();
  }, 180_000);
});
