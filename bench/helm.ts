// Helm benchmark: a synthetic fleet of 1,000 instances of one realistic chart (the ledger chart of
// packages/fleet/test/fixtures/helm-renderer: a library chart, an aliased subchart, tpl, range over
// maps, hooks, a CRD; 40 objects per instance), each instance with its own values, in a temporary
// Git repository. Measures, side by side in one run: cold render through the long-lived renderer,
// `helm template` per instance (Ringmaster's fallback, on a sample), plan after a one-instance change
// and after a chart change that touches every instance; then the plain-manifest fleet at 10,000
// instances on 500 clusters (bench/fleet-scale.ts in a process of its own, for its peak memory).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFleetFrom, openSource, planRevisions, Renderer, renderFleet } from '@ringmaster/fleet';
import { closeHelmRenderers, helmRenderer } from '../packages/fleet/src/helm-renderer.ts';

const INSTANCES = 1000;
const CLUSTERS = 50;
const OBJECTS = 40;
const TEMPLATE_SAMPLE = 40;
const CHART = join(import.meta.dirname, '..', 'packages', 'fleet', 'test', 'fixtures', 'helm-renderer', 'fleet', 'apps', 'ledger', 'chart');

const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.net', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.net' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env }).toString().trim();

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

const TIERS = ['standard', 'premium', 'internal'];

export function generate(root: string): void {
  write(root, 'ringmaster.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: ledgers\nrings:\n  - name: dev\n  - name: canary\n  - name: prod\nregions:\n  - name: eu\n    values: { region: eu-west }\n  - name: us\n    values: { region: us-east }\n');
  const clusters: string[] = [];
  for (let c = 0; c < CLUSTERS; c++) {
    const ring = c < 5 ? 'dev' : c < 15 ? 'canary' : 'prod';
    clusters.push(`apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: c${c}\nring: ${ring}\nregion: ${c % 2 ? 'us' : 'eu'}\ndelivery: { mode: argocd }\nkubernetes: { version: "1.3${c % 4}.${c % 7}" }\n`);
  }
  write(root, 'clusters/all.yaml', clusters.join('---\n'));
  // Ten nodes (30 objects), the session cache (2), config and logging ConfigMaps, the tenant, two
  // PodDisruptionBudgets, the migration hook, the test Pod and the CRD: 40 objects per instance.
  const nodes = ['sync-0: { role: synchronizer, replicas: 1 }', ...[0, 1, 2, 3, 4].map((n) => `backend-${n}: { role: backend, replicas: 2 }`), ...[0, 1, 2, 3].map((n) => `web-${n}: { role: frontend, replicas: 2 }`)];
  write(root, 'apps/ledger/app.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: ledger\nsource: { type: helm, chart: chart }\nroles: [synchronizer, backend, frontend]\nvalues:\n  image: { tag: "7.2.0" }\n  sessioncache: { enabled: true }\n  nodes:\n${nodes.map((n) => `    ${n}`).join('\n')}\n`);
  cpSync(CHART, join(root, 'apps/ledger/chart'), { recursive: true });
  for (let g = 0; g < 10; g++) {
    const docs: string[] = [];
    for (let i = g * (INSTANCES / 10); i < (g + 1) * (INSTANCES / 10); i++) {
      docs.push(
        `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: tenant-${i}\napp: ledger\ncluster: c${i % CLUSTERS}\nvalues:\n  tenant: { name: customer-${i}, tier: ${TIERS[i % 3]} }\n  nodes:\n    backend-0: { role: backend, replicas: ${1 + (i % 4)} }\n  config:\n    properties: { ledger.shard: "${i % 16}", ledger.customer: "c-${i}" }\n  env:\n    LEDGER_CUSTOMER: "customer-${i}"\n`,
      );
    }
    write(root, `instances/group-${g}.yaml`, docs.join('---\n'));
  }
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** CPU seconds a process has used so far (Linux /proc), or undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this process's finished (waited-for) children so far: the `helm template` runs. */
function childrenCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function peakRssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface HelmBenchResult {
  objects: number;
  coldRenderMs: number;
  nodeCpuS: number;
  rendererCpuS?: number;
  rendererPeakMb?: number;
  templatePerInstanceMs: number;
  enginePerInstanceMs: number;
  templateCpuPerInstanceMs: number;
  engineCpuPerInstanceMs: number;
  ratio: number;
  onePlanMs: number;
  chartPlanMs: number;
  chartPlanInstances: number;
  scale: { instances: number; clusters: number; objects: number; coldRenderMs: number; peakRssMb: number };
  load: string;
}

/** Runs the Helm benchmark and returns its figures. */
export async function benchHelm(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<HelmBenchResult> {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const root = mkdtempSync(join(tmpdir(), 'ringmaster-bench-helm-'));
  try {
    const repo = join(root, 'fleet');
    generate(repo);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'synthetic helm fleet');
    const base = git(repo, 'rev-parse', 'HEAD');
    log(`generated ${INSTANCES} instances of the ledger chart on ${CLUSTERS} clusters in ${repo} (load ${load})`);

    // Cold: no renderer process yet, nothing of this fleet read; read from Git, render every object to YAML.
    const cpu0 = process.cpuUsage();
    const [rendered, coldRenderMs] = await time(async () => renderFleet(await loadFleetFrom(await openSource(repo, base))));
    const cpu = process.cpuUsage(cpu0);
    const nodeCpuS = (cpu.user + cpu.system) / 1e6;
    const pid = helmRenderer().pid;
    const rendererCpuS = cpuSeconds(pid);
    const objects = rendered.reduce((n, r) => n + r.objects.length, 0);
    if (objects !== INSTANCES * OBJECTS) throw new Error(`expected ${INSTANCES * OBJECTS} objects, got ${objects} (${rendered[0]!.objects.map((o) => o.kind).join(', ')})`);
    log(`cold render through the renderer: ${coldRenderMs.toFixed(0)} ms for ${objects} objects (CPU: Node.js ${nodeCpuS.toFixed(1)} s, renderer ${rendererCpuS?.toFixed(1) ?? '?'} s)`);

    // `helm template` per instance: Ringmaster's fallback (helm.renderer: template) on a sample of instances.
    const sample = rendered.slice(0, TEMPLATE_SAMPLE).map((r) => r.instance);
    const fleetForTemplate = await loadFleetFrom(await openSource(repo, base));
    const tcpu0 = process.cpuUsage();
    const tchildren0 = childrenCpuSeconds();
    const [viaTemplate, templateMs] = await time(() => renderFleet(fleetForTemplate, sample, new Renderer(fleetForTemplate, { helm: { renderer: 'template' } })));
    const tcpu = process.cpuUsage(tcpu0);
    const templateCpuPerInstanceMs = (((tcpu.user + tcpu.system) / 1e6 + childrenCpuSeconds() - tchildren0) * 1000) / sample.length;
    const engineCpuPerInstanceMs = ((nodeCpuS + (rendererCpuS ?? 0)) * 1000) / INSTANCES;
    const same = viaTemplate.every((r, i) => JSON.stringify(r) === JSON.stringify(rendered[i]));
    if (!same) throw new Error('helm template and the renderer rendered different objects');
    const templatePerInstanceMs = templateMs / sample.length;
    const enginePerInstanceMs = coldRenderMs / INSTANCES;
    const ratio = templatePerInstanceMs / enginePerInstanceMs;
    log(`helm template: ${templatePerInstanceMs.toFixed(1)} ms per instance (${sample.length} instances, same objects) vs the renderer ${enginePerInstanceMs.toFixed(2)} ms = ${ratio.toFixed(1)}×`);
    log(`CPU per instance (Node.js + helm processes): helm template ${templateCpuPerInstanceMs.toFixed(1)} ms vs the renderer ${engineCpuPerInstanceMs.toFixed(1)} ms = ${(templateCpuPerInstanceMs / engineCpuPerInstanceMs).toFixed(1)}×`);

    // One instance's values change.
    const f = join(repo, 'instances/group-3.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('name: tenant-321\napp: ledger\ncluster: c21\nvalues:\n', 'name: tenant-321\napp: ledger\ncluster: c21\nvalues:\n  roles:\n    backend: { cpu: "2", memory: 4Gi, port: 7100, startOrder: 1 }\n'));
    git(repo, 'commit', '-q', '-am', 'tenant-321 gets bigger backends');
    const one = git(repo, 'rev-parse', 'HEAD');
    const [plan1, onePlanMs] = await time(() => planRevisions({ repo, from: base, to: one }));
    if (plan1.summary.instances !== 1) throw new Error(`expected 1 changed instance, got ${plan1.summary.instances}`);
    log(`plan, one instance changed: ${onePlanMs.toFixed(0)} ms (${plan1.summary.objects.update} objects to update)`);

    // The chart changes: every instance changes.
    const t = join(repo, 'apps/ledger/chart/templates/nodes.yaml');
    writeFileSync(t, readFileSync(t, 'utf8').replace('    ledger.example.net/start-order:', '    ledger.example.net/drain-seconds: "30"\n    ledger.example.net/start-order:'));
    git(repo, 'commit', '-q', '-am', 'chart: drain time on every node');
    const all = git(repo, 'rev-parse', 'HEAD');
    const [plan2, chartPlanMs] = await time(() => planRevisions({ repo, from: one, to: all }));
    if (plan2.summary.instances !== INSTANCES) throw new Error(`expected ${INSTANCES} changed instances, got ${plan2.summary.instances}`);
    log(`plan, chart changed (every instance): ${chartPlanMs.toFixed(0)} ms (${plan2.summary.objects.update} objects to update)`);
    const rendererPeakMb = peakRssMb(helmRenderer().pid);
    await closeHelmRenderers();

    // Plain manifests at 10,000 instances × 40 objects on 500 clusters, in a process of its own.
    const scaleRun = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fleet-scale.ts')], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (scaleRun.status !== 0) throw new Error(`bench/fleet-scale.ts failed: ${scaleRun.stderr}`);
    const scale = JSON.parse(scaleRun.stdout.trim().split('\n').pop()!) as HelmBenchResult['scale'];
    log(`plain manifests, ${scale.instances} instances × 40 objects on ${scale.clusters} clusters: cold render ${scale.coldRenderMs.toFixed(0)} ms, peak memory ${scale.peakRssMb.toFixed(0)} MiB`);

    return { objects, coldRenderMs, nodeCpuS, rendererCpuS, rendererPeakMb, templatePerInstanceMs, enginePerInstanceMs, templateCpuPerInstanceMs, engineCpuPerInstanceMs, ratio, onePlanMs, chartPlanMs, chartPlanInstances: plan2.summary.instances, scale, load };
  } finally {
    await closeHelmRenderers();
    if (process.env.BENCH_KEEP) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

/** Markdown rows for docs/benchmarks.md. */
export function helmBenchMarkdown(r: HelmBenchResult): string {
  const row = (what: string, value: string, goal: string, met: boolean) => `| ${what} | ${value} | ${goal} | ${met ? 'met' : '**missed**'} |`;
  const cpu = r.rendererCpuS !== undefined ? ` (CPU: Node.js ${r.nodeCpuS.toFixed(1)} s, renderer ${r.rendererCpuS.toFixed(1)} s)` : '';
  return [
    `Synthetic Helm fleet: ${INSTANCES} instances of one chart × ${OBJECTS} objects (${r.objects} objects) on ${CLUSTERS} clusters, each instance with its own values, read from a Git revision. Load average at the start: ${r.load}.`,
    '',
    '| measure | result | goal | |',
    '| --- | ---: | ---: | --- |',
    row(`cold render through the renderer (starts it, reads the chart, renders every object to YAML)${cpu}`, `${r.coldRenderMs.toFixed(0)} ms`, '≤ 5,000 ms', r.coldRenderMs <= 5000),
    row(`per instance: \`helm template\` (helm.renderer: template, ${TEMPLATE_SAMPLE} instances) vs the renderer`, `${r.templatePerInstanceMs.toFixed(1)} ms vs ${r.enginePerInstanceMs.toFixed(2)} ms = ${r.ratio.toFixed(1)}×`, '≥ 10×', r.ratio >= 10),
    `| CPU per instance, Node.js and helm processes together (less sensitive to other load than wall time): \`helm template\` vs the renderer | ${r.templateCpuPerInstanceMs.toFixed(1)} ms vs ${r.engineCpuPerInstanceMs.toFixed(1)} ms = ${(r.templateCpuPerInstanceMs / r.engineCpuPerInstanceMs).toFixed(1)}× | | |`,
    row("plan, one instance's values changed (in a running process)", `${r.onePlanMs.toFixed(0)} ms`, '≤ 300 ms', r.onePlanMs <= 300),
    row(`plan, chart changed (every instance: ${r.chartPlanInstances} × 2 renders)`, `${r.chartPlanMs.toFixed(0)} ms`, '≤ 10,000 ms', r.chartPlanMs <= 10000),
    ...(r.rendererPeakMb !== undefined ? [`| the renderer's peak memory (after both plans) | ${r.rendererPeakMb.toFixed(0)} MiB | | |`] : []),
    `| plain manifests: cold render, ${r.scale.instances} instances × 40 objects (${r.scale.objects} objects) on ${r.scale.clusters} clusters | ${r.scale.coldRenderMs.toFixed(0)} ms | | |`,
    `| plain manifests at that scale: peak memory of the process (resident) | ${r.scale.peakRssMb.toFixed(0)} MiB | | |`,
  ].join('\n');
}
