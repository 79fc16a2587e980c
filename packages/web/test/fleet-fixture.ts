import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const GIT_ENV = { GIT_AUTHOR_NAME: 'Fleet Author', GIT_AUTHOR_EMAIL: 'fleet@acme.test', GIT_COMMITTER_NAME: 'Fleet Author', GIT_COMMITTER_EMAIL: 'fleet@acme.test' };
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } }).trim();

/**
 * A real fleet repo and a bare manifest repo for flighting: two rings, each gated by a manual
 * approval, clusters delivered directly through a kubeconfig whose API server does not answer
 * (so once approved, a ring's clusters fail as unreachable: nothing here needs Kubernetes).
 */
export class FlightFixture {
  readonly root = mkdtempSync(join(tmpdir(), 'ringmaster-web-flight-'));
  readonly fleet = join(this.root, 'fleet');
  readonly manifests = join(this.root, 'manifests.git');
  readonly kubeconfig = join(this.root, 'kubeconfig');

  constructor() {
    mkdirSync(this.fleet);
    git(this.fleet, 'init', '-q', '-b', 'main');
    this.write('ringmaster.yaml', [
      'apiVersion: ringmaster.dev/v1alpha1', 'kind: Fleet', 'name: acme', 'rings:',
      '  - name: dev', '    policy: { approval: manual, soak: 1s, maxFailures: 0, autoRollback: false, progressDeadline: 10s }',
      '  - name: prod', '    policy: { approval: manual, waves: { size: 1 }, maxInFlight: 1, soak: 10m, maxFailures: 0, autoRollback: true, progressDeadline: 15m }',
      'regions:', '  - name: eu-west', '',
    ].join('\n'));
    this.write('clusters/all.yaml', ['dev-eu-1:dev', 'prod-eu-1:prod', 'prod-eu-2:prod'].map((c) => {
      const [name, ring] = c.split(':');
      return `apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: ${name}\nring: ${ring}\nregion: eu-west\ndelivery: { mode: direct }\n`;
    }).join('---\n'));
    this.setTag('1.0.0');
    this.write('apps/shop/manifests/deployment.yaml', [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: shop', 'spec:', '  replicas: 1', '  selector:', '    matchLabels: { app: shop }',
      '  template:', '    metadata:', '      labels: { app: shop }', '    spec:', '      containers:', '        - name: shop', '          image: ${image}', '',
    ].join('\n'));
    this.write('instances/all.yaml', ['dev-eu-1', 'prod-eu-1', 'prod-eu-2'].map((c) => `apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: shop-${c}\napp: shop\ncluster: ${c}\n`).join('---\n'));
    this.commit('fleet: shop on three clusters');

    mkdirSync(this.manifests);
    git(this.manifests, 'init', '-q', '--bare', '-b', 'main');
    const seed = join(this.root, 'seed');
    mkdirSync(seed);
    git(seed, 'init', '-q', '-b', 'main');
    writeFileSync(join(seed, 'README.md'), 'Rendered manifests, written by Ringmaster.\n');
    git(seed, 'add', '-A');
    git(seed, 'commit', '-q', '-m', 'initial');
    git(seed, 'push', '-q', this.manifests, 'main');

    // port 1 on loopback refuses connections at once: an unreachable cluster, reported as such
    writeFileSync(this.kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: nowhere',
      'clusters:', '  - name: nowhere', '    cluster: { server: "https://127.0.0.1:1", insecure-skip-tls-verify: true }',
      'users:', '  - name: nobody', '    user: { token: "unused" }',
      'contexts:', '  - name: nowhere', '    context: { cluster: nowhere, user: nobody }', '',
    ].join('\n'));
  }

  write(path: string, text: string): void {
    const f = join(this.fleet, path);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, text);
  }

  commit(message: string): string {
    git(this.fleet, 'add', '-A');
    git(this.fleet, 'commit', '-q', '--allow-empty', '-m', message);
    return git(this.fleet, 'rev-parse', 'HEAD');
  }

  setTag(tag: string): void {
    this.write('apps/shop/app.yaml', `apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: shop\nteam: storefront\nsource: { type: manifests, path: manifests }\nnamespace: \${instance.name}\nvalues:\n  image: "acme/shop:${tag}"\n`);
  }

  /** Options for startServer's `flighting`. */
  options() {
    return {
      fleetRepo: this.fleet, manifestRepo: { url: this.manifests }, workDir: join(this.root, 'work'),
      access: { kubeconfig: this.kubeconfig }, pollIntervalMs: 200, actionTimeoutMs: 3000,
    };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
