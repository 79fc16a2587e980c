import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { patchStatus, type KubeClient, type KubeObject } from '@ringmaster/kube';

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
 * Plays Argo CD and the kubelet on the local kube-apiserver: Applications become Synced at the
 * manifest repo's head and Healthy (Degraded when their folder holds `badImage`); Deployments and
 * StatefulSets report their replicas ready (a Deployment running `badImage` exceeds its progress deadline).
 * Only objects of one test are touched: Applications of its manifest repo, workloads in namespaces with its prefix.
 */
export class FakeControllers {
  /** Workloads running this image never become ready (Deployments: ProgressDeadlineExceeded; Applications: Degraded). */
  badImage: string | undefined;
  /** Workloads (by name) left unready, as a slow start would. */
  readonly hold = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  constructor(private readonly client: KubeClient, private readonly remote: string, private readonly prefix: string, private readonly intervalMs = 100) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.once();
        } catch {
          // the API server restarts or objects vanish between list and patch: try again next round
        }
        await sleep(this.intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  async once(): Promise<void> {
    const head = git(this.remote, 'rev-parse', 'main');
    const apps = await this.client.list('argoproj.io/v1alpha1', 'Application', { labelSelector: 'app.kubernetes.io/managed-by=ringmaster' });
    for (const app of apps.items) {
      if ((app.spec as { source?: { repoURL?: string } }).source?.repoURL !== this.remote) continue;
      const status = app.status as { sync?: { revision?: string }; health?: { status?: string } } | undefined;
      const path = (app.spec as { source: { path: string } }).source.path;
      const bad = this.badImage !== undefined && hasText(this.remote, head, path, this.badImage);
      const health = bad ? 'Degraded' : 'Healthy';
      if (status?.sync?.revision === head && status.health?.status === health) continue;
      await patchStatus(this.client, refOf(app), { sync: { status: 'Synced', revision: head }, health: { status: health, ...(health === 'Degraded' ? { message: 'frontend crash-looping' } : {}) } }, { fieldManager: 'argocd-application-controller' });
    }
    for (const kind of ['Deployment', 'StatefulSet']) {
      const list = await this.client.list('apps/v1', kind, { labelSelector: 'app.kubernetes.io/managed-by=ringmaster' });
      for (const o of list.items) {
        if (!o.metadata.namespace?.startsWith(`${this.prefix}-`)) continue;
        const images = ((o.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } }).template?.spec?.containers ?? []).map((c) => c.image);
        const cluster = this.badImage !== undefined && images.includes(this.badImage);
        const replicas = (o.spec as { replicas?: number }).replicas ?? 1;
        const gen = o.metadata.generation ?? 1;
        const s = o.status as Record<string, unknown> | undefined;
        if (cluster && kind === 'Deployment') {
          if ((s?.conditions as Array<{ reason?: string }> | undefined)?.some((c) => c.reason === 'ProgressDeadlineExceeded') && s?.observedGeneration === gen) continue;
          await patchStatus(this.client, refOf(o), { observedGeneration: gen, replicas, updatedReplicas: replicas, availableReplicas: 0, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'crash-looping' }] }, { fieldManager: 'kube-controller-manager' });
          continue;
        }
        if (this.hold.has(o.metadata.name!)) continue;
        if (s?.observedGeneration === gen && s?.readyReplicas === replicas && s?.availableReplicas === replicas) continue;
        await patchStatus(this.client, refOf(o), {
          observedGeneration: gen, replicas, readyReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas, currentReplicas: replicas,
          ...(kind === 'StatefulSet' ? { currentRevision: 'r1', updateRevision: 'r1' } : { conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] }),
        }, { fieldManager: 'kube-controller-manager' });
      }
    }
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

function refOf(o: KubeObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name! };
}
