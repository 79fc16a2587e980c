import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FAULT_ANNOTATION, HOLD_ANNOTATION, type KubeClient } from '@ringmaster/kube';

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

/**
 * The three rings used by the flighting tests: short soaks, manual approval only where asked. The
 * default progress deadline (10m, 60 s at the tests' time scale 0.1) leaves Argo CD time to sync on
 * a loaded machine.
 */
export function rings(opts: { canaryApproval?: 'auto' | 'manual'; devRollback?: boolean; deadline?: string } = {}): RingDef[] {
  return [
    { name: 'dev', policy: `{ approval: auto, waves: { size: 1 }, soak: 1s, maxFailures: 0, autoRollback: ${opts.devRollback ?? true}, progressDeadline: ${opts.deadline ?? '10m'} }` },
    { name: 'canary', policy: `{ approval: ${opts.canaryApproval ?? 'auto'}, soak: 1s, maxInFlight: 1, maxFailures: 0, autoRollback: true, progressDeadline: ${opts.deadline ?? '10m'} }` },
    { name: 'prod', policy: `{ approval: auto, waves: { byLabel: wave }, maxInFlight: 2, soak: 1s, maxFailures: 0, autoRollback: true, progressDeadline: ${opts.deadline ?? '10m'} }` },
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

/** The app's roles, in start order. */
export const ROLES = ['synchronizer', 'backend', 'frontend'] as const;

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
    for (const role of ROLES) this.writeRole(role);
    this.write('instances/all.yaml', clusters.map((c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: ${prefix}-${c.name}\napp: appserver\ncluster: ${c.name}\n`).join('---\n'));
  }

  /**
   * One role's workload. Deployments have a 15 s progress deadline, so a rollout whose Pods never
   * turn Ready is reported ProgressDeadlineExceeded by the real Deployment controller (and Degraded
   * by Argo CD) within the test's time; `hold` starts its Pods held (see HOLD_ANNOTATION).
   */
  private writeRole(role: (typeof ROLES)[number], hold = false): void {
    const kind = role === 'synchronizer' ? 'StatefulSet' : 'Deployment';
    this.write(`apps/appserver/manifests/${role}.yaml`, [
      'apiVersion: apps/v1', `kind: ${kind}`, 'metadata:', `  name: ${role}`, '  labels:', `    ringmaster.dev/role: ${role}`, 'spec:',
      // Parallel: after a rollback an OrderedReady StatefulSet waits for its crash-looping Pod to turn
      // Ready before it replaces it, for ever. Ringmaster replaces such Pods in direct mode (the demo's
      // dev ring shows it), but Argo CD does not, and the Argo CD-mode tests roll back too.
      ...(kind === 'StatefulSet' ? [`  serviceName: ${role}`, '  podManagementPolicy: Parallel'] : ['  progressDeadlineSeconds: 15']), '  replicas: 1', '  selector:', '    matchLabels:', `      app: ${role}`,
      '  template:', '    metadata:', '      labels:', `        app: ${role}`, ...(hold ? ['      annotations:', `        ${HOLD_ANNOTATION}: "true"`] : []),
      '    spec:', '      containers:', `        - name: ${role}`, '          image: ${image.repository}:${image.tag}', '',
    ].join('\n'));
  }

  /** Makes the Pods of these roles start held (still creating) from the next release on, and commits. */
  hold(roles: Array<(typeof ROLES)[number]>, message = `hold ${roles.join(', ')}`): string {
    for (const role of ROLES) this.writeRole(role, roles.includes(role));
    return this.commit(message);
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

/** Lets held Pods of a role start (kwok then plays them Ready, or crash-looping for a bad image); returns how many it let go. */
export async function releaseHold(client: KubeClient, namespace: string, role: string): Promise<number> {
  const pods = await client.list('v1', 'Pod', { namespace, labelSelector: `app=${role}` });
  const held = pods.items.filter((p) => p.metadata.annotations?.[HOLD_ANNOTATION] !== undefined);
  for (const p of held) await client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace, name: p.metadata.name! }, { metadata: { annotations: { [HOLD_ANNOTATION]: null } } });
  return held.length;
}

/** Makes a role's running Pods start crash-looping (kwok's fault Stage), as a process falling over would. */
export async function crashPods(client: KubeClient, namespace: string, role: string): Promise<number> {
  const pods = await client.list('v1', 'Pod', { namespace, labelSelector: `app=${role}` });
  for (const p of pods.items) await client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace, name: p.metadata.name! }, { metadata: { annotations: { [FAULT_ANNOTATION]: 'crash-loop' } } });
  return pods.items.length;
}
