// Local fleet benchmark: start time with 3 and 7 workload clusters (plus the management cluster and
// Argo CD), memory and CPU per cluster when idle, and manifest commit → Argo CD Synced + Healthy for
// 20 Applications, with the refresh annotation and without it (Argo CD's 180 s poll).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ARGOCD_NAMESPACE, requestRefresh, startLocalFleet, type KubeObject, type LocalFleet, type LocalFleetState } from '@ringmaster/kube';

const log = (s: string) => process.stderr.write(s + '\n');
const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.net', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.net' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env }).toString().trim();
const APPS = 20;

function state(fleet: LocalFleet): LocalFleetState {
  return JSON.parse(readFileSync(join(fleet.dir, 'fleet.json'), 'utf8')) as LocalFleetState;
}

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};
const cpuTicks = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 per second)
};

type Usage = { group: string; rssMiB: number; cpuPercent: number };

/** The fleet's processes by group: each cluster, the shared etcd, Argo CD. */
function processGroups(fleet: LocalFleet): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const p of state(fleet).processes) {
    const owner = p.name === 'etcd' ? 'etcd (shared)' : p.name.startsWith('argocd-') ? 'Argo CD + Redis' : (fleet.clusters.find((c) => p.name.startsWith(`${c.name}-`))?.name ?? p.name);
    groups.set(owner, [...(groups.get(owner) ?? []), p.pid]);
  }
  return groups;
}

/** Memory (RSS) at the end and CPU per group over the time `during` takes. */
async function usageDuring<T>(fleet: LocalFleet, during: () => Promise<T>): Promise<{ usage: Usage[]; result: T }> {
  const groups = processGroups(fleet);
  const ticks = (pids: number[]) => pids.reduce((n, pid) => n + cpuTicks(pid), 0);
  const before = new Map([...groups].map(([g, pids]) => [g, ticks(pids)]));
  const t0 = performance.now();
  const result = await during();
  const seconds = (performance.now() - t0) / 1000;
  const usage = [...groups].map(([group, pids]) => ({
    group,
    rssMiB: Math.round(pids.reduce((n, pid) => n + rssMiB(pid), 0)),
    // ticks are 1/100 s: ticks per second of the window is the percentage of one core
    cpuPercent: Math.round(((ticks(pids) - before.get(group)!) / seconds) * 10) / 10,
  }));
  return { usage, result };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

function configMap(app: string, version: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${app}\ndata:\n  version: "${version}"\n`;
}
function deployment(app: string, version: string): string {
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${app}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: ${app}}\n  template:\n    metadata:\n      labels: {app: ${app}}\n      annotations: {version: "${version}"}\n    spec:\n      containers:\n      - name: app\n        image: example.net/${app}:${version}\n`;
}

/** Writes every app's manifests at `version`, commits and pushes; returns the commit. */
function commitVersion(work: string, apps: { name: string; cluster: string }[], version: string): string {
  for (const a of apps) {
    mkdirSync(join(work, a.cluster, a.name), { recursive: true });
    writeFileSync(join(work, a.cluster, a.name, 'config.yaml'), configMap(a.name, version));
    writeFileSync(join(work, a.cluster, a.name, 'deployment.yaml'), deployment(a.name, version));
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `version ${version}`);
  git(work, 'push', '-q', 'origin', 'HEAD:main');
  return git(work, 'rev-parse', 'HEAD');
}

/** Milliseconds from `t0` until each Application is Synced at `commit` and Healthy (polling every 250 ms). */
async function timeToSynced(fleet: LocalFleet, names: string[], commit: string, t0: number, timeoutMs: number): Promise<number[]> {
  const done = new Map<string, number>();
  const until = t0 + timeoutMs;
  while (done.size < names.length && performance.now() < until) {
    const list = await fleet.management!.client.list('argoproj.io/v1alpha1', 'Application', { namespace: ARGOCD_NAMESPACE });
    for (const app of list.items) {
      const name = app.metadata.name ?? '';
      const s = (app.status ?? {}) as { sync?: { status?: string; revision?: string }; health?: { status?: string } };
      if (!done.has(name) && s.sync?.status === 'Synced' && s.sync.revision === commit && s.health?.status === 'Healthy') done.set(name, performance.now() - t0);
    }
    await sleep(250);
  }
  if (done.size < names.length) throw new Error(`${names.length - done.size} Applications not Synced + Healthy at ${commit.slice(0, 8)} within ${timeoutMs} ms`);
  return [...done.values()];
}

async function syncLatency(fleet: LocalFleet, root: string): Promise<{ refresh: number[]; poll: number[]; during: Usage[] }> {
  const bare = join(root, 'manifests.git');
  const work = join(root, 'work');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  git(work, 'remote', 'add', 'origin', bare);
  const workloads = fleet.clusters.filter((c) => c.role === 'workload');
  const apps = Array.from({ length: APPS }, (_, i) => ({ name: `app-${i}`, cluster: workloads[i % workloads.length]!.name }));
  const first = commitVersion(work, apps, '1');
  for (const a of apps) {
    const app: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: a.name, namespace: ARGOCD_NAMESPACE },
      spec: {
        project: 'default',
        source: { repoURL: `file://${bare}`, targetRevision: 'main', path: `${a.cluster}/${a.name}` },
        destination: { name: a.cluster, namespace: a.name },
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
      },
    };
    await fleet.management!.client.apply(app, { fieldManager: 'bench', force: true });
  }
  log(`  waiting for ${APPS} Applications to sync their first commit`);
  await timeToSynced(fleet, apps.map((a) => a.name), first, performance.now(), 300_000);

  // a release's delivery: one commit touching every Application, the refresh, until all are Synced + Healthy
  const { usage: during, result: refresh } = await usageDuring(fleet, async () => {
    const t1 = performance.now();
    const second = commitVersion(work, apps, '2');
    await Promise.all(apps.map((a) => requestRefresh(fleet.management!.client, { namespace: ARGOCD_NAMESPACE, name: a.name })));
    return timeToSynced(fleet, apps.map((a) => a.name), second, t1, 300_000);
  });
  log(`  with refresh: p50 ${pct(refresh, 50).toFixed(0)} ms`);

  const t2 = performance.now();
  const third = commitVersion(work, apps, '3');
  log('  without refresh: waiting for Argo CD\'s poll (up to 180 s plus a reconcile)');
  const poll = await timeToSynced(fleet, apps.map((a) => a.name), third, t2, 420_000);
  return { refresh, poll, during };
}

async function timedStart(clusters: number): Promise<{ fleet: LocalFleet; ms: number }> {
  const names = Array.from({ length: clusters }, (_, i) => `c${i + 1}`);
  const t0 = performance.now();
  const fleet = await startLocalFleet({ clusters: names, nodes: 3 });
  return { fleet, ms: performance.now() - t0 };
}

/** The benchmark as a Markdown section. */
export async function benchLocalFleet(): Promise<string> {
  const out: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'ringmaster-bench-fleet-'));
  try {
    for (const n of [3, 7]) {
      log(`local fleet: starting ${n} workload clusters + management + Argo CD`);
      const { fleet, ms } = await timedStart(n);
      try {
        out.push(`### ${n} workload clusters (3 kwok nodes each) + management cluster + Argo CD`, '', `Start (binaries built; etcd, ${n + 1} API servers, ${n} × controller-manager + scheduler + kwok, Argo CD ready): **${(ms / 1000).toFixed(1)} s**`, '');
        await sleep(10_000); // let the start-up work settle before measuring idle
        const { usage } = await usageDuring(fleet, () => sleep(20_000));
        out.push('| processes | memory (RSS) | CPU idle (20 s window) |', '| --- | --- | --- |', ...usage.map((u) => `| ${u.group} | ${u.rssMiB} MiB | ${u.cpuPercent} % of a core |`), '');
        if (n === 3) {
          log('local fleet: commit → Synced + Healthy');
          const { refresh, poll, during } = await syncLatency(fleet, join(root, 'sync'));
          const row = (what: string, xs: number[]) => `| ${what} | ${xs.length} | ${(pct(xs, 50) / 1000).toFixed(2)} s | ${(pct(xs, 95) / 1000).toFixed(2)} s | ${(Math.max(...xs) / 1000).toFixed(2)} s |`;
          out.push(`Manifest commit (push) → Argo CD reports the Application Synced at that commit and Healthy (${APPS} Applications over ${n} clusters, a ConfigMap and a one-replica Deployment each, one commit touching all of them):`, '');
          out.push('| trigger | Applications | p50 | p95 | max |', '| --- | --- | --- | --- | --- |', row('refresh annotation right after the push', refresh), row("none (Argo CD's 180 s poll)", poll), '');
          out.push(`During that delivery (commit, refresh, until all ${APPS} are Synced + Healthy):`, '', '| processes | memory (RSS) | CPU during the delivery |', '| --- | --- | --- |', ...during.map((u) => `| ${u.group} | ${u.rssMiB} MiB | ${u.cpuPercent} % of a core |`), '');
        }
      } finally {
        await fleet.stop();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return out.join('\n');
}
