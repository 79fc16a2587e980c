// Drift detection benchmark: many delivered objects watched on a local kube-apiserver (with its audit
// log); a live edit of one object → drift visible in GET /api/v1/drift, at p50/p95/max; the server's
// CPU and memory while it watches them. DRIFT_MODE=argocd delivers through real Argo CD instead (a
// local fleet: one workload cluster and a management cluster running Argo CD), so the latency
// includes Argo CD noticing the edit and marking its Application OutOfSync.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditLogPath, startLocalFleet, startLocalKube, type KubeClient } from '@ringmaster/kube';
import { createToken, openStorage, startServer } from '@ringmaster/server';

const log = (s: string) => process.stderr.write(s + '\n');
const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.net', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.net' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env }).toString().trim();

function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** A fleet of `instances` instances of one app rendering `perInstance` ConfigMaps each, on one direct cluster. */
function fleetRepo(instances: number, perInstance: number, mode: 'direct' | 'argocd'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-bench-drift-fleet-'));
  git(dir, 'init', '-q', '-b', 'main');
  write(dir, 'ringmaster.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: bench\nrings:\n  - name: dev\n    policy: { maxFailures: 0, progressDeadline: 30m }\nregions:\n  - name: eu\n');
  write(dir, 'clusters/dev-1.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: dev-1\nring: dev\nregion: eu\ndelivery: { mode: ${mode} }\n`);
  write(dir, 'apps/conf/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: conf\nsource: { type: manifests, path: manifests }\nnamespace: ${instance.name}\nvalues: { level: info }\n');
  write(dir, 'apps/conf/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
  const docs = Array.from({ length: perInstance }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf-${i}\ndata:\n  LEVEL: \${level}\n  INDEX: "${i}"\n`);
  write(dir, 'apps/conf/manifests/configs.yaml', docs.join('---\n'));
  write(dir, 'instances/all.yaml', Array.from({ length: instances }, (_, i) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: conf-${i}\napp: conf\ncluster: dev-1\n`).join('---\n'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'bench fleet');
  return dir;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

export async function benchDrift(opts: { instances?: number; perInstance?: number; edits?: number; mode?: 'direct' | 'argocd' } = {}): Promise<string> {
  const mode = opts.mode ?? (process.env.DRIFT_MODE === 'argocd' ? 'argocd' : 'direct');
  const instances = opts.instances ?? Number(process.env.DRIFT_INSTANCES ?? 100);
  const perInstance = opts.perInstance ?? Number(process.env.DRIFT_PER_INSTANCE ?? 100);
  const edits = opts.edits ?? 40;
  const objects = instances * (perInstance + 1);
  // direct: one kube-apiserver; argocd: a local fleet (controllers, kwok, Argo CD on the management cluster)
  const local = mode === 'argocd' ? await startLocalFleet({ clusters: ['dev-1'] }) : undefined;
  const kube = local ? undefined : await startLocalKube({ audit: true });
  const client: KubeClient = local ? local.cluster('dev-1').client : kube!.client;
  const kubeconfig = local ? local.cluster('dev-1').kubeconfigPath : kube!.kubeconfigPath;
  const auditLog = local ? auditLogPath(join(local.dir, 'dev-1')) : auditLogPath(kube!.dir);
  const fleet = fleetRepo(instances, perInstance, mode);
  const remote = mkdtempSync(join(tmpdir(), 'ringmaster-bench-drift-manifests-'));
  git(remote, 'init', '-q', '--bare', '-b', 'main');
  const seed = mkdtempSync(join(tmpdir(), 'ringmaster-bench-drift-seed-'));
  git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(join(seed, 'README.md'), 'bench\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'initial');
  git(seed, 'push', '-q', remote, 'main');
  const data = mkdtempSync(join(tmpdir(), 'ringmaster-bench-drift-data-'));
  const work = mkdtempSync(join(tmpdir(), 'ringmaster-bench-drift-work-'));
  const storage = await openStorage({ dataDir: data });
  const server = await startServer({
    storage, host: '127.0.0.1', port: 0, logLevel: false,
    flighting: {
      fleetRepo: fleet, manifestRepo: { url: remote, ...(local ? { argocdURL: `file://${remote}` } : {}) }, workDir: work, pollIntervalMs: 200, actionTimeoutMs: 600_000,
      access: { kubeconfig, clusters: { 'dev-1': { kubeconfig } }, ...(local ? { management: { kubeconfig: local.management!.kubeconfigPath } } : {}) },
    },
    drift: { refreshMs: 2000, auditLogs: { 'dev-1': auditLog } },
  });
  const token = (await createToken(storage, { name: 'bench', role: 'admin' })).token;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return res.json() as Promise<any>;
  };
  try {
    log(`drift bench (${mode} mode): ${instances} instances × ${perInstance + 1} objects = ${objects} objects`);
    const t0 = Date.now();
    const rel = await call('POST', '/api/v1/releases', { revision: 'main' });
    for (let i = 0; ; i++) {
      const r = await call('GET', `/api/v1/releases/${rel.id}`);
      if (['succeeded', 'failed', 'halted'].includes(r.state)) {
        if (r.state !== 'succeeded') throw new Error(`release ${r.state}: ${JSON.stringify(r.rings?.[0]?.waves?.[0]?.clusters?.[0]?.reason)}`);
        break;
      }
      if (i > 6000) throw new Error('release did not finish');
      await sleep(500);
    }
    const delivered = Date.now() - t0;
    log(`delivered in ${delivered} ms; waiting for the first evaluation of every object`);
    const t1 = Date.now();
    for (;;) {
      const d = await call('GET', '/api/v1/drift?limit=1');
      // Argo CD mode judges per Application (its verdict), not per object
      if (d.detection.objects >= objects && d.detection.evaluations >= (mode === 'argocd' ? instances : objects)) break;
      await sleep(200);
    }
    const firstPass = Date.now() - t1;
    // idle watching: CPU and memory of this process (the server runs in it) over 20 s
    const cpu0 = process.cpuUsage();
    const idleStart = Date.now();
    await sleep(20_000);
    const cpu = process.cpuUsage(cpu0);
    const idleCpu = ((cpu.user + cpu.system) / 1000 / (Date.now() - idleStart)) * 100;
    const rss = process.memoryUsage().rss / 2 ** 20;
    const latencies: number[] = [];
    for (let e = 0; e < edits; e++) {
      const inst = `conf-${(e * 37) % instances}`;
      const name = `conf-${(e * 53) % perInstance}`;
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: inst, name };
      const obj = (await client.get(ref))!;
      (obj.data as Record<string, string>).LEVEL = `debug-${e}`;
      const start = performance.now();
      await client.update(obj, { fieldManager: 'kubectl-edit' });
      for (;;) {
        const d = await call('GET', `/api/v1/drift?instance=${inst}`);
        if (d.instances[0]?.fields.some((f: any) => f.object.name === name && f.live === `debug-${e}`)) break;
        if (performance.now() - start > 60_000) throw new Error(`edit ${e} not seen within 60 s`);
        await sleep(10);
      }
      latencies.push(performance.now() - start);
    }
    const load = execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ');
    return [
      mode === 'argocd'
        ? `Argo CD mode: ${objects} delivered objects (${instances} instances × ${perInstance} ConfigMaps + a Namespace, one Application each) on a local fleet (a workload cluster with its audit log, a management cluster running Argo CD ${local!.versions.argocd}); the server in the bench process. Load average at the end: ${load}.`
        : `${objects} delivered objects (${instances} instances × ${perInstance} ConfigMaps + a Namespace) on one local kube-apiserver with its audit log; the server in the bench process. Load average at the end: ${load}.`,
      '',
      '| measure | result | goal |',
      '| --- | --- | --- |',
      `| live edit → drift visible in \`GET /api/v1/drift\` (${edits} edits), p50 / p95 / max | ${pct(latencies, 50).toFixed(0)} / ${pct(latencies, 95).toFixed(0)} / ${Math.max(...latencies).toFixed(0)} ms | p95 < 10,000 ms |`,
      `| release → every object evaluated once (watches listed, compared, stored) | ${(firstPass / 1000).toFixed(1)} s | |`,
      `| server CPU while watching, idle (20 s window) | ${idleCpu.toFixed(1)} % of one core | |`,
      `| server memory (RSS of the bench process, server and watch caches) | ${rss.toFixed(0)} MiB | |`,
      `| delivery of the release (${mode} mode, for scale) | ${(delivered / 1000).toFixed(1)} s | |`,
    ].join('\n');
  } finally {
    await server.close();
    await storage.close();
    await kube?.stop();
    await local?.stop();
    for (const d of [fleet, remote, seed, data, work]) rmSync(d, { recursive: true, force: true });
  }
}
