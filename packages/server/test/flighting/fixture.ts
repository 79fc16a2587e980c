import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StandInControllers, workloadImages, type KubeClient } from '@ringmaster/kube';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Fleet Author', GIT_AUTHOR_EMAIL: 'fleet@example.net', GIT_COMMITTER_NAME: 'Fleet Author', GIT_COMMITTER_EMAIL: 'fleet@example.net',
};

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } }).trim();
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `ringmaster-${name}-`));
}

export interface ClusterDef {
  name: string;
  ring: string;
  mode: 'argocd' | 'direct';
  labels?: Record<string, string>;
}

export interface RingDef {
  name: string;
  policy: string;
}

/** The three rings used by the flighting tests: short soaks, manual approval only where asked. */
export function rings(opts: { canaryApproval?: 'auto' | 'manual'; devRollback?: boolean; deadline?: string } = {}): RingDef[] {
  return [
    { name: 'dev', policy: `{ approval: auto, waves: { size: 1 }, soak: 1s, maxFailures: 0, autoRollback: ${opts.devRollback ?? true}, progressDeadline: ${opts.deadline ?? '2m'} }` },
    { name: 'canary', policy: `{ approval: ${opts.canaryApproval ?? 'auto'}, soak: 1s, maxInFlight: 1, maxFailures: 0, autoRollback: true, progressDeadline: ${opts.deadline ?? '2m'} }` },
    { name: 'prod', policy: `{ approval: auto, waves: { byLabel: wave }, maxInFlight: 2, soak: 1s, maxFailures: 0, autoRollback: true, progressDeadline: ${opts.deadline ?? '2m'} }` },
  ];
}

export const CLUSTERS: ClusterDef[] = [
  { name: 'dev-1', ring: 'dev', mode: 'direct' },
  { name: 'canary-1', ring: 'canary', mode: 'argocd' },
  { name: 'canary-2', ring: 'canary', mode: 'direct' },
  { name: 'prod-1', ring: 'prod', mode: 'argocd', labels: { wave: '1' } },
  { name: 'prod-2', ring: 'prod', mode: 'direct', labels: { wave: '1' } },
  { name: 'prod-3', ring: 'prod', mode: 'argocd', labels: { wave: '2' } },
];

/** A fleet repo in a temporary folder: one stateful app (synchronizer → backend → frontend), one instance per cluster. */
export class FleetRepo {
  readonly dir: string;
  constructor(readonly prefix: string, ringDefs: RingDef[] = rings(), readonly clusters: ClusterDef[] = CLUSTERS) {
    this.dir = tempDir('fleet');
    git(this.dir, 'init', '-q', '-b', 'main');
    this.write('ringmaster.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: Fleet\nname: test\nrings:\n${ringDefs.map((r) => `  - name: ${r.name}\n    policy: ${r.policy}\n`).join('')}regions:\n  - name: eu\n`);
    this.write('clusters/all.yaml', clusters.map((c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: ${c.name}\nring: ${c.ring}\nregion: eu\n${c.labels ? `labels: ${JSON.stringify(c.labels)}\n` : ''}delivery: { mode: ${c.mode} }\n`).join('---\n'));
    this.write('apps/appserver/app.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: appserver\nteam: platform\nsource: { type: manifests, path: manifests }\nnamespace: \${instance.name}\nroles: [synchronizer, backend, frontend]\nvalues:\n  image: { repository: appserver, tag: "1.0.0" }\n  logLevel: info\n`);
    this.write('apps/appserver/manifests/namespace.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${instance.namespace}\n');
    this.write('apps/appserver/manifests/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: appserver-config\ndata:\n  LOG_LEVEL: ${logLevel}\n');
    for (const [role, kind] of [['synchronizer', 'StatefulSet'], ['backend', 'Deployment'], ['frontend', 'Deployment']] as const) {
      this.write(`apps/appserver/manifests/${role}.yaml`, [
        'apiVersion: apps/v1', `kind: ${kind}`, 'metadata:', `  name: ${role}`, '  labels:', `    ringmaster.dev/role: ${role}`, 'spec:',
        ...(kind === 'StatefulSet' ? [`  serviceName: ${role}`] : []), '  replicas: 1', '  selector:', '    matchLabels:', `      app: ${role}`,
        '  template:', '    metadata:', '      labels:', `        app: ${role}`, '    spec:', '      containers:', `        - name: ${role}`,
        '          image: ${image.repository}:${image.tag}', '',
      ].join('\n'));
    }
    this.write('instances/all.yaml', clusters.map((c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: ${prefix}-${c.name}\napp: appserver\ncluster: ${c.name}\n`).join('---\n'));
  }

  write(path: string, text: string): void {
    const f = join(this.dir, path);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, text);
  }

  commit(message: string): string {
    git(this.dir, 'add', '-A');
    git(this.dir, 'commit', '-q', '--allow-empty', '-m', message);
    return git(this.dir, 'rev-parse', 'HEAD');
  }

  /** Sets the app's default tag and commits. */
  setTag(tag: string): string {
    this.write('apps/appserver/app.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: appserver\nteam: platform\nsource: { type: manifests, path: manifests }\nnamespace: \${instance.name}\nroles: [synchronizer, backend, frontend]\nvalues:\n  image: { repository: appserver, tag: "${tag}" }\n  logLevel: info\n`);
    return this.commit(`appserver ${tag}`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A bare manifest repository with one initial commit on main. */
export function manifestRemote(): string {
  const dir = tempDir('manifests');
  git(dir, 'init', '-q', '--bare', '-b', 'main');
  const seed = tempDir('seed');
  git(seed, 'init', '-q', '-b', 'main');
  writeFileSync(join(seed, 'README.md'), 'Rendered manifests, written by Ringmaster.\n');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'initial');
  git(seed, 'push', '-q', dir, 'main');
  rmSync(seed, { recursive: true, force: true });
  return dir;
}

/** Manifest commits of a release step, by their trailers: [{ sha, release, step, cluster }]. */
export function manifestCommits(remote: string): Array<{ sha: string; release?: string; step?: string; cluster?: string; ring?: string }> {
  const out = git(remote, 'log', 'main', '--format=%H%x01%B%x02');
  return out.split('\x02').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const [sha, body] = entry.split('\x01');
    const t = (k: string) => new RegExp(`^${k}: (.+)$`, 'm').exec(body ?? '')?.[1];
    return { sha: sha!.trim(), release: t('Ringmaster-Release'), step: t('Ringmaster-Step'), cluster: t('Ringmaster-Cluster'), ring: t('Ringmaster-Ring') };
  }).filter((c) => c.release);
}

/**
 * Plays Argo CD and the kubelet on the local kube-apiserver with the kube package's stand-ins:
 * Applications become Synced at the manifest repo's head and Healthy (Degraded when their folder
 * holds `badImage`); workloads report their replicas ready (a Deployment running `badImage` exceeds
 * its progress deadline). Only objects of one test are touched: Applications of its manifest repo,
 * workloads in namespaces with its prefix.
 */
export class FakeControllers {
  /** Workloads running this image never become ready (Deployments: ProgressDeadlineExceeded; Applications: Degraded). */
  badImage: string | undefined;
  /** Workloads (by name) whose status is not written yet: their pods are still starting. */
  readonly hold = new Set<string>();
  private readonly standIn: StandInControllers;
  constructor(client: KubeClient, remote: string, prefix: string, intervalMs = 100) {
    this.standIn = new StandInControllers(client, {
      repoURL: remote,
      manifestHead: () => git(remote, 'rev-parse', 'main'),
      namespaces: (ns) => ns.startsWith(`${prefix}-`),
      holdBack: (w) => this.hold.has(w.metadata.name!),
      applicationProblem: (app, head) =>
        this.badImage !== undefined && hasText(remote, head, (app.spec as { source: { path: string } }).source.path, this.badImage) ? 'frontend crash-looping' : undefined,
      workloadProblem: (w) => (w.kind === 'Deployment' && this.badImage !== undefined && workloadImages(w).includes(this.badImage) ? 'crash-looping' : undefined),
      intervalMs,
    });
  }

  start(): void {
    this.standIn.start();
  }

  stop(): Promise<void> {
    return this.standIn.stop();
  }

  once(): Promise<void> {
    return this.standIn.once();
  }
}

function hasText(repo: string, rev: string, path: string, text: string): boolean {
  try {
    execFileSync('git', ['grep', '-q', '-F', text, rev, '--', path], { cwd: repo });
    return true;
  } catch {
    return false;
  }
}
