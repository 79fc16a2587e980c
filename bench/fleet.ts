// Fleet benchmark: a synthetic fleet of 1,000 instances × 40 objects on 50 clusters in 3 rings,
// in a temporary Git repository. Measures cold render, plan after a one-instance change, plan after
// a base change, and — side by side — `kubectl kustomize` on equivalent overlays.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFleetFrom, openSource, planRevisions, renderFleet, writeRendered } from '@ringmaster/fleet';

const INSTANCES = 1000;
const CLUSTERS = 50;
const OBJECTS = 40; // per instance: 10 × (ConfigMap, Deployment, Service, ServiceAccount)
const RINGS = ['dev', 'canary', 'prod'];

const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.net', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.net' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env }).toString().trim();

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

function component(i: number): string {
  return `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: part${i}-config
data:
  tenant: \${instance.name}
  level: \${logLevel}
  region: \${cluster.region}
  limit: "\${limits.requests}"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: part${i}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: part${i}
  labels:
    ringmaster.dev/role: ${i % 3 === 0 ? 'synchronizer' : i % 3 === 1 ? 'backend' : 'frontend'}
spec:
  replicas: \${replicas}
  selector:
    matchLabels: { app: part${i} }
  template:
    metadata:
      labels: { app: part${i} }
    spec:
      serviceAccountName: part${i}
      containers:
        - name: main
          image: \${image.repository}:\${image.tag}
          args: ["--part=${i}", "--log-level=\${logLevel}"]
          env:
            - name: TENANT
              value: \${instance.name}
            - name: CACHE_MB
              value: "\${cacheMb}"
          resources:
            requests:
              cpu: 100m
              memory: \${memory}
---
apiVersion: v1
kind: Service
metadata:
  name: part${i}
spec:
  selector: { app: part${i} }
  ports:
    - { name: http, port: 80, targetPort: 8080 }
`;
}

/** Writes the synthetic fleet (sizes other than the default for the scaling run, bench/fleet-scale.ts). */
export function generate(root: string, instances = INSTANCES, clusterCount = CLUSTERS): void {
  write(
    root,
    'ringmaster.yaml',
    `apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: bench\nrings:\n${RINGS.map((r) => `  - name: ${r}\n    values: { logLevel: ${r === 'prod' ? 'warn' : 'debug'} }\n`).join('')}regions:\n  - name: eu\n  - name: us\n`,
  );
  const clusters: string[] = [];
  for (let c = 0; c < clusterCount; c++) {
    const ring = c < 5 ? 'dev' : c < 15 ? 'canary' : 'prod';
    clusters.push(`apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: c${c}\nring: ${ring}\nregion: ${c % 2 ? 'us' : 'eu'}\nlabels: { wave: "${c % 4}" }\ndelivery: { mode: argocd }\nvalues: { memory: ${256 + (c % 4) * 128}Mi }\n`);
  }
  write(root, 'clusters/all.yaml', clusters.join('---\n'));
  write(
    root,
    'apps/svc/app.yaml',
    `apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: svc\nsource: { type: manifests, path: manifests }\nroles: [synchronizer, backend, frontend]\nvalues:\n  image: { repository: svc, tag: "1.0.0" }\n  replicas: 2\n  cacheMb: 512\n  memory: 256Mi\n  limits: { requests: 100 }\n`,
  );
  for (let f = 0; f < 10; f++) write(root, `apps/svc/manifests/part${f}.yaml`, component(f));
  for (let g = 0; g < 10; g++) {
    const docs: string[] = [];
    for (let i = g * (instances / 10); i < (g + 1) * (instances / 10); i++) {
      docs.push(`apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: tenant-${i}\napp: svc\ncluster: c${i % clusterCount}\nvalues:\n  replicas: ${1 + (i % 3)}\n  cacheMb: ${512 + i}\n`);
    }
    write(root, `instances/group-${g}.yaml`, docs.join('---\n'));
  }
}

/** An equivalent Kustomize layout: a base of the same 40 objects, one overlay per instance. */
function generateKustomize(root: string, overlays: number): string[] {
  const base = Array.from({ length: 10 }, (_, i) =>
    component(i)
      .replaceAll('${instance.name}', 'tenant')
      .replaceAll('${logLevel}', 'debug')
      .replaceAll('${cluster.region}', 'eu')
      .replaceAll('"${limits.requests}"', '"100"')
      .replaceAll('${replicas}', '2')
      .replaceAll('${image.repository}:${image.tag}', 'svc:1.0.0')
      .replaceAll('"${cacheMb}"', '"512"')
      .replaceAll('${memory}', '256Mi'),
  );
  base.forEach((text, i) => write(root, `base/part${i}.yaml`, text));
  write(root, 'base/kustomization.yaml', `resources:\n${base.map((_, i) => `  - part${i}.yaml`).join('\n')}\n`);
  const dirs: string[] = [];
  for (let n = 0; n < overlays; n++) {
    const dir = `overlays/tenant-${n}`;
    write(
      root,
      `${dir}/kustomization.yaml`,
      `namespace: tenant-${n}\nresources:\n  - ../../base\nlabels:\n  - pairs: { ringmaster.dev/instance: tenant-${n} }\nreplicas:\n${Array.from({ length: 10 }, (_, i) => `  - { name: part${i}, count: ${1 + (n % 3)} }`).join('\n')}\npatches:\n${Array.from({ length: 10 }, (_, i) => `  - target: { kind: ConfigMap, name: part${i}-config }\n    patch: |-\n      - { op: replace, path: /data/tenant, value: tenant-${n} }`).join('\n')}\n`,
    );
    dirs.push(join(root, dir));
  }
  return dirs;
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

export interface FleetBenchResult {
  coldRenderMs: number;
  writeMs: number;
  onePlanMs: number;
  cliPlanMs: number;
  basePlanMs: number;
  perInstanceMs: number;
  kustomizePerInstanceMs: number;
  ratio: number;
  objects: number;
}

/** Runs the fleet benchmark and returns its figures. */
export async function benchFleet(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<FleetBenchResult> {
  const root = mkdtempSync(join(tmpdir(), 'ringmaster-bench-'));
  try {
    const repo = join(root, 'fleet');
    generate(repo);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'synthetic fleet');
    const base = git(repo, 'rev-parse', 'HEAD');
    log(`generated ${INSTANCES} instances × ${OBJECTS} objects on ${CLUSTERS} clusters in ${repo}`);

    // Cold: nothing of this fleet parsed or rendered yet in this process; read from Git, render every object to YAML.
    const [rendered, coldRenderMs] = await time(async () => renderFleet(await loadFleetFrom(await openSource(repo, base))));
    const objects = rendered.reduce((n, r) => n + r.objects.length, 0);
    const [, writeMs] = await time(() => writeRendered(join(root, 'out'), rendered));
    log(`cold render: ${coldRenderMs.toFixed(0)} ms for ${objects} objects; writing them as files: ${writeMs.toFixed(0)} ms`);

    // One instance's values change.
    const f = join(repo, 'instances/group-3.yaml');
    const text = readFileSync(f, 'utf8');
    writeFileSync(f, text.replace('name: tenant-321\napp: svc\ncluster: c21\nvalues:\n', 'name: tenant-321\napp: svc\ncluster: c21\nvalues:\n  memory: 1Gi\n'));
    git(repo, 'commit', '-q', '-am', 'tenant-321 gets more memory');
    const one = git(repo, 'rev-parse', 'HEAD');
    const [plan1, onePlanMs] = await time(() => planRevisions({ repo, from: base, to: one }));
    if (plan1.summary.instances !== 1) throw new Error(`expected 1 changed instance, got ${plan1.summary.instances}`);
    log(`plan, one instance changed: ${onePlanMs.toFixed(0)} ms (${plan1.summary.objects.update} objects to update)`);
    // The same plan from the CLI: a fresh process that parses every fleet file of both revisions.
    const cliStart = performance.now();
    const cli = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'ringmaster.js'), 'plan', '--repo', repo, '--from', base, '--to', one, '-o', 'json'], { maxBuffer: 64 << 20 });
    const cliPlanMs = performance.now() - cliStart;
    if (cli.status !== 2) throw new Error(`ringmaster plan exited ${cli.status}: ${cli.stderr}`);
    log(`ringmaster plan (fresh process, one instance changed): ${cliPlanMs.toFixed(0)} ms`);

    // The app's base changes: every instance changes.
    const m = join(repo, 'apps/svc/manifests/part0.yaml');
    writeFileSync(m, readFileSync(m, 'utf8').replace('  level: ${logLevel}\n', '  level: ${logLevel}\n  feature: enabled\n'));
    git(repo, 'commit', '-q', '-am', 'base change');
    const all = git(repo, 'rev-parse', 'HEAD');
    const [plan2, basePlanMs] = await time(() => planRevisions({ repo, from: one, to: all }));
    if (plan2.summary.instances !== INSTANCES) throw new Error(`expected ${INSTANCES} changed instances, got ${plan2.summary.instances}`);
    log(`plan, base changed (every instance): ${basePlanMs.toFixed(0)} ms`);

    // kubectl kustomize on equivalent overlays, per instance.
    const K = 20;
    const dirs = generateKustomize(join(root, 'kustomize'), K);
    spawnSync('kubectl', ['kustomize', dirs[0]!]); // warm the binary's page cache
    const t = performance.now();
    for (const d of dirs) {
      const r = spawnSync('kubectl', ['kustomize', d], { maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`kubectl kustomize failed: ${r.stderr}`);
    }
    const kustomizePerInstanceMs = (performance.now() - t) / K;
    const perInstanceMs = coldRenderMs / INSTANCES;
    const ratio = kustomizePerInstanceMs / perInstanceMs;
    log(`kubectl kustomize: ${kustomizePerInstanceMs.toFixed(1)} ms per instance vs Ringmaster ${perInstanceMs.toFixed(2)} ms (${ratio.toFixed(0)}×)`);
    return { coldRenderMs, writeMs, onePlanMs, cliPlanMs, basePlanMs, perInstanceMs, kustomizePerInstanceMs, ratio, objects };
  } finally {
    if (process.env.BENCH_KEEP) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

/** Markdown rows for docs/benchmarks.md. */
export function fleetBenchMarkdown(r: FleetBenchResult): string {
  const row = (what: string, value: string, goal: string, met: boolean) => `| ${what} | ${value} | ${goal} | ${met ? 'met' : '**missed**'} |`;
  return [
    `Synthetic fleet: ${INSTANCES} instances × ${OBJECTS} objects (${r.objects} objects) on ${CLUSTERS} clusters in ${RINGS.length} rings, read from a Git revision.`,
    '',
    '| measure | result | goal | |',
    '| --- | ---: | ---: | --- |',
    row('cold render (read a Git revision, render every object to YAML in memory)', `${r.coldRenderMs.toFixed(0)} ms`, '≤ 3,000 ms', r.coldRenderMs <= 3000),
    `| writing the ${r.objects} files (\`render --out\`; disk-bound, not part of the goal) | ${r.writeMs.toFixed(0)} ms | | |`,
    row('plan, one instance\'s values changed (in a running process, e.g. the control plane)', `${r.onePlanMs.toFixed(0)} ms`, '≤ 300 ms', r.onePlanMs <= 300),
    `| the same plan as \`ringmaster plan\` in a fresh process (Node.js start, parse both revisions) | ${r.cliPlanMs.toFixed(0)} ms | | |`,
    row('plan, app base changed (every instance)', `${r.basePlanMs.toFixed(0)} ms`, '≤ 5,000 ms', r.basePlanMs <= 5000),
    row('per instance: Ringmaster vs `kubectl kustomize`', `${r.perInstanceMs.toFixed(2)} ms vs ${r.kustomizePerInstanceMs.toFixed(1)} ms = ${r.ratio.toFixed(0)}×`, '≥ 20×', r.ratio >= 20),
  ].join('\n');
}
