// Flighting benchmark: (1) from release creation to the first ring's manifest commits for the
// 1,000-instance synthetic fleet (bench/fleet.ts), (2) a rollout across 500 clusters in direct mode
// against the local kube-apiserver, reporting the engine's own time per cluster step (everything
// but waiting for Git and Kubernetes).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalKube, type LocalKube } from '@ringmaster/kube';
import { createContext, FlightEngine, createRelease, createToken, openStorage, startServer, type Principal } from '@ringmaster/server';
import { generate } from './fleet.ts';

const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.net', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.net' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env }).toString().trim();
const log = (s: string) => process.stderr.write(s + '\n');

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

function bareRepo(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '--bare', '-b', 'main');
  return dir;
}

interface FirstRing {
  createMs: number;
  firstRingMs: number;
  clusters: number;
  instances: number;
  firstRingInstances: number;
}

/** Release creation → every first-ring cluster has its manifest commit, through the HTTP API. */
async function firstRing(root: string, kube: LocalKube): Promise<FirstRing> {
  const repo = join(root, 'fleet');
  generate(repo);
  git(repo, 'init', '-q', '-b', 'main');
  commitAll(repo, 'synthetic fleet');
  const remote = bareRepo(root, 'manifests-1');
  const data = join(root, 'data-1');
  const storage = await openStorage({ dataDir: data });
  const { token } = await createToken(storage, { name: 'bench', role: 'admin' });
  const server = await startServer({
    storage, port: 0, logLevel: false,
    flighting: { fleetRepo: repo, manifestRepo: { url: remote }, workDir: join(root, 'work-1'), access: { kubeconfig: kube.kubeconfigPath }, pollIntervalMs: 200 },
  });
  try {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/api/v1/releases`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ revision: 'main' }) });
    const rel = (await res.json()) as { id: string; summary: { instances: number; rings: Record<string, number> }; error?: unknown };
    if (res.status !== 201) throw new Error(`release creation failed: ${JSON.stringify(rel)}`);
    const createMs = performance.now() - t0;
    const clusters = rel.summary.rings.dev!;
    for (;;) {
      const done = await storage.db.selectFrom('release_steps').select('cluster').where('release_id', '=', rel.id).where('ring', '=', 'dev').where('manifest_commit', 'is not', null).execute();
      if (done.length === clusters) break;
      await sleep(5);
    }
    const firstRingMs = performance.now() - t0;
    const steps = await storage.db.selectFrom('release_steps').select('instances').where('release_id', '=', rel.id).where('ring', '=', 'dev').execute();
    const firstRingInstances = steps.reduce((n, s) => n + (JSON.parse(s.instances) as unknown[]).length, 0);
    return { createMs, firstRingMs, clusters, instances: rel.summary.instances, firstRingInstances };
  } finally {
    await server.close();
    await storage.close();
  }
}

interface Direct {
  clusters: number;
  wallMs: number;
  steps: number;
  engineMsPerStep: number;
  ioMsPerStep: number;
}

/** 500 clusters in direct mode, one small instance each (ConfigMap + Service per role), delivered one at a time. */
async function direct(root: string, kube: LocalKube, clusters = 500): Promise<Direct> {
  const repo = join(root, 'fleet-direct');
  write(repo, 'ringmaster.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: direct\nrings:\n  - name: prod\n    policy: { waves: { size: 100 }, maxInFlight: 1, maxFailures: 0 }\nregions:\n  - name: eu\n');
  write(repo, 'clusters/all.yaml', Array.from({ length: clusters }, (_, c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: d${c}\nring: prod\nregion: eu\ndelivery: { mode: direct }\n`).join('---\n'));
  write(repo, 'apps/svc/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: svc\nsource: { type: manifests, path: manifests }\nnamespace: ${instance.name}\nroles: [synchronizer, backend, frontend]\nvalues:\n  tag: "1"\n');
  write(repo, 'apps/svc/manifests/ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
  for (const role of ['synchronizer', 'backend', 'frontend']) {
    write(repo, `apps/svc/manifests/${role}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${role}\n  labels: { ringmaster.dev/role: ${role} }\ndata:\n  tag: "\${tag}"\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${role}\n  labels: { ringmaster.dev/role: ${role} }\n`);
  }
  write(repo, 'instances/all.yaml', Array.from({ length: clusters }, (_, c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: svc-d${c}\napp: svc\ncluster: d${c}\n`).join('---\n'));
  git(repo, 'init', '-q', '-b', 'main');
  commitAll(repo, 'direct fleet');
  const remote = bareRepo(root, 'manifests-2');
  const storage = await openStorage({ dataDir: join(root, 'data-2') });
  const ctx = createContext(storage, { fleetRepo: repo, manifestRepo: { url: remote }, workDir: join(root, 'work-2'),
    // every cluster of this fleet is the one local API server (ConfigMaps and ServiceAccounts only: no controllers needed)
    access: { kubeconfig: kube.kubeconfigPath, clusters: Object.fromEntries(Array.from({ length: clusters }, (_, c) => [`d${c}`, { kubeconfig: kube.kubeconfigPath }])) }, pollIntervalMs: 50 },
    async () => undefined, { info: () => undefined, warn: (o, m) => log(`warn: ${m} ${JSON.stringify(o)}`), error: (o, m) => log(`error: ${m} ${JSON.stringify(o)}`) });
  // journey events go to the real journey tables, as in the server
  const { recordEvents, loadSettings } = await import('@ringmaster/server');
  const settings = await loadSettings(storage.db);
  ctx.record = (events) => recordEvents(storage, events.map((e) => ({ ...e, source: 'ringmaster' })), { settings });
  const engine = new FlightEngine(ctx);
  const admin: Principal = { name: 'bench', role: 'admin', apps: [], rings: [] };
  try {
    const rel = await createRelease(ctx, { revision: 'main' }, admin);
    const t0 = performance.now();
    for (;;) {
      await engine.tick();
      const r = await storage.db.selectFrom('releases').select('state').where('id', '=', rel.id).executeTakeFirstOrThrow();
      if (['succeeded', 'failed', 'halted'].includes(r.state)) {
        if (r.state !== 'succeeded') throw new Error(`direct rollout ended ${r.state}`);
        break;
      }
    }
    const wallMs = performance.now() - t0;
    const s = engine.stats;
    return { clusters, wallMs, steps: s.steps, engineMsPerStep: (s.tickMs - s.ioMs) / s.steps, ioMsPerStep: s.ioMs / s.steps };
  } finally {
    ctx.clients.close();
    await storage.close();
  }
}

/** Runs the flighting benchmark and returns its Markdown section. */
export async function benchFlighting(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'ringmaster-bench-flighting-'));
  const kube = await startLocalKube();
  try {
    const a = await firstRing(root, kube);
    log(`first ring: release created in ${a.createMs.toFixed(0)} ms, ${a.clusters} first-ring commits after ${a.firstRingMs.toFixed(0)} ms`);
    const b = await direct(root, kube);
    log(`direct: ${b.steps} cluster steps in ${(b.wallMs / 1000).toFixed(1)} s; engine ${b.engineMsPerStep.toFixed(1)} ms/step, Git+Kubernetes ${b.ioMsPerStep.toFixed(1)} ms/step`);
    return [
      '| measure | result | goal |',
      '| --- | --- | --- |',
      `| release creation (validate, render and plan ${a.instances} instances, persist the rollout), over HTTP | ${a.createMs.toFixed(0)} ms | |`,
      `| release creation → first ring's manifest commits (${a.clusters} clusters, ${a.firstRingInstances} instances × 40 objects) | ${a.firstRingMs.toFixed(0)} ms | < 2,000 ms |`,
      `| direct-mode rollout, ${b.clusters} clusters one at a time (wall) | ${(b.wallMs / 1000).toFixed(1)} s | |`,
      `| engine overhead per cluster step (all but Git and Kubernetes: database, journey events, scheduling) | ${b.engineMsPerStep.toFixed(1)} ms | < 20 ms |`,
      `| Git + Kubernetes per cluster step (manifest commit and push; server-side apply of 4 stages + prune) | ${b.ioMsPerStep.toFixed(1)} ms | |`,
    ].join('\n');
  } finally {
    await kube.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('flighting.ts')) process.stdout.write((await benchFlighting()) + '\n');
