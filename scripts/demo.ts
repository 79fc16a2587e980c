// `npm run demo`: the whole product on a fresh machine, driven only through Ringmaster's own CLI and
// HTTP API, as a user and their CI would drive it:
//   1. builds what is missing (helm, Kubernetes, kwok, Argo CD, the dashboard) with progress shown;
//   2. creates a fleet repo (from examples/fleet), a manifest repo and an app source repo;
//   3. starts a local fleet — per cluster of the example fleet a kube-apiserver with
//      kube-controller-manager, kube-scheduler, kwok nodes and a `ringmaster operator` process, plus
//      a management cluster running real Argo CD — and `ringmaster serve` on SQLite, creates tokens;
//   4. plays changes — CI events, fleet commits, releases through every ring in direct mode and in
//      Argo CD mode, approvals, one bad release that halts and rolls back by itself (its AppCluster
//      turns Degraded), and one NodeOperation (a frontend upgraded on its own, dark then served);
//   5. prints the dashboard URL and a token, and keeps serving until Ctrl-C.
// RINGMASTER_DEMO_EXIT=1 (or --exit) stops after the changes have played; RINGMASTER_DEMO_DIR picks the
// work folder; --screenshots saves every dashboard view into docs/screenshots from the demo's data.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startLocalFleet, type LocalFleet } from '@ringmaster/kube';
import { signTicketWebhook, startLocalBind, startPrometheus, type LocalBind, type TestPrometheus } from '@ringmaster/server';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'packages', 'cli', 'bin', 'ringmaster.js');
const exitWhenDone = process.env.RINGMASTER_DEMO_EXIT === '1' || process.argv.includes('--exit');
const screenshots = process.argv.includes('--screenshots');
const color = process.stdout.isTTY;
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s: string) => process.stdout.write(s + '\n');
const sayLine = say;
const step = (s: string) => say(`\n${bold('▶ ' + s)}`);

const people = {
  maria: { name: 'Maria Keller', email: 'maria.keller@example.net' },
  sam: { name: 'Sam Lee', email: 'sam.lee@example.net' },
};
type Person = (typeof people)[keyof typeof people];

function gitEnv(p: Person): NodeJS.ProcessEnv {
  return { ...process.env, GIT_AUTHOR_NAME: p.name, GIT_AUTHOR_EMAIL: p.email, GIT_COMMITTER_NAME: p.name, GIT_COMMITTER_EMAIL: p.email };
}
const git = (dir: string, args: string[], p: Person = people.maria) => execFileSync('git', args, { cwd: dir, env: gitEnv(p) }).toString().trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[], okCodes = [0]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  if (!okCodes.includes(r.status ?? 1)) throw new Error(`ringmaster ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
step('Set-up: helm, Kubernetes, kwok, Argo CD and the dashboard are built the first time (this can take many minutes)');
const setup = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { stdio: 'inherit', env: { ...process.env, RINGMASTER_SETUP_ONLY: 'helm,kube,kwok,argocd,web' } });
let kubeBuildFailed = setup.status !== 0;
if (kubeBuildFailed) say('The set-up did not complete (see above); the demo goes on, and clusters that cannot be reached show as not connected.');

const work = process.env.RINGMASTER_DEMO_DIR ?? mkdtempSync(join(tmpdir(), 'ringmaster-demo-'));
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const fleet = join(work, 'fleet');
const manifests = join(work, 'manifests.git');
const appRepo = join(work, 'appserver');

step(`Repositories in ${work}`);
cpSync(join(root, 'examples', 'fleet'), fleet, { recursive: true });
git(fleet, ['init', '-q', '-b', 'main']);
git(fleet, ['add', '-A']);
git(fleet, ['commit', '-q', '-m', 'Example fleet: appserver, edge-proxy and metrics-agent over dev, canary and prod']);
say(`fleet repo     ${fleet}  (acme/fleet, from examples/fleet)`);
git(work, ['init', '-q', '--bare', '-b', 'main', manifests]);
const seed = join(work, 'seed');
mkdirSync(seed);
git(seed, ['init', '-q', '-b', 'main']);
writeFileSync(join(seed, 'README.md'), 'Rendered manifests, written by Ringmaster. Do not edit by hand.\n');
git(seed, ['add', '-A']);
git(seed, ['commit', '-q', '-m', 'Manifest repo']);
git(seed, ['push', '-q', manifests, 'main']);
rmSync(seed, { recursive: true, force: true });
say(`manifest repo  ${manifests}  (acme/manifests; Argo CD reads it)`);
mkdirSync(appRepo);
git(appRepo, ['init', '-q', '-b', 'main']);
writeFileSync(join(appRepo, 'VERSION'), '7.4.1\n');
git(appRepo, ['add', '-A']);
git(appRepo, ['commit', '-q', '-m', 'appserver 7.4.1']);
say(`app repo       ${appRepo}  (acme/appserver, the application's source)`);

step('Validate the fleet and plan a change before it merges (the blast radius)');
say(cli(['validate', '--repo', fleet]).trim());

// ---------------------------------------------------------------------------------------------
// The bad release of change 3: kwok plays its Pods as crash-looping, so it fails through the real
// controllers, Ringmaster's own health checks and Argo CD's health assessment.
const BAD_IMAGE = 'appserver:7.5.1';
const clusterNames = readdirSync(join(fleet, 'clusters'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => [...readFileSync(join(fleet, 'clusters', f), 'utf8').matchAll(/^name: (\S+)$/gm)].map((m) => m[1]!));
step(`A local fleet: ${clusterNames.length} clusters, each its own Kubernetes API server with real controllers, and Argo CD`);
let kube: LocalFleet | undefined;
let kubeconfig = join(work, 'not-connected.kubeconfig');
try {
  if (kubeBuildFailed) throw new Error('the local fleet\'s binaries were not built (see the set-up output above)');
  const started = Date.now();
  // the stateful node operator runs as a real `ringmaster operator` process per workload cluster,
  // outside it (kwok Pods run no code), as Argo CD runs outside the management cluster
  kube = await startLocalFleet({ clusters: clusterNames, dir: join(work, 'fleet-clusters'), nodes: 3, crashingImages: [BAD_IMAGE], operator: { command: process.execPath, args: [bin, 'operator'] } });
  kubeconfig = kube.kubeconfigPath;
  const v = kube.versions;
  say(`started in ${((Date.now() - started) / 1000).toFixed(0)} s — export KUBECONFIG=${kubeconfig} (one context per cluster)`);
  say(`Kubernetes ${v.kubernetes}: per cluster kube-apiserver, kube-controller-manager, kube-scheduler (etcd ${v.etcd}, one key prefix per cluster)`);
  say(`kwok ${v.kwok}: plays the nodes and their kubelets — ${kube.clusters.filter((c) => c.role === 'workload').map((c) => `${c.name} ${c.nodes.length} nodes`).join(', ')}`);
  say(`Argo CD ${v.argocd}: application-controller, repo-server and Redis on the management cluster, syncing from file://${manifests}`);
  say(`Ringmaster operator: ${v.operators} \`ringmaster operator\` processes, one per workload cluster, running outside it against its API server (kwok Pods run no code; the fleet's ringmaster-operator app still delivers its Deployment, CRDs and RBAC) — they run the appserver's AppClusters`);
  say(dim(`Pods of ${BAD_IMAGE} crash-loop on these kwok nodes (the demo's bad release); nothing else writes a status.`));
} catch (e) {
  say(`The local fleet could not be started: ${(e as Error).message}`);
  say('The demo goes on: releases are written to the manifest repo, and clusters show as not connected.');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: none, user: {}}]\ncontexts: [{name: none, context: {cluster: none, user: none}}]\ncurrent-context: none\n',
  );
  kubeBuildFailed = true;
}

// ---------------------------------------------------------------------------------------------
step('ringmaster serve (SQLite) with releases delivered into the manifest repo, DNS through a local BIND');
// Requests write the DNS records of new tenants by RFC 2136 updates signed with a TSIG key, to a real
// BIND 9 on loopback; the change tickets approve requests through a signed webhook. Secrets reach
// the server through files named in its environment, never on its command line.
let bind: LocalBind | undefined;
try {
  bind = await startLocalBind({ dir: join(work, 'dns') });
  say(`BIND 9 serves zone ${bind.zone} on 127.0.0.1:${bind.port} (dynamic updates signed with TSIG key ${bind.tsig.name})`);
} catch (e) {
  say(`BIND could not be started (${(e as Error).message}); requests run without DNS records`);
}
// The canary ring's metric gate asks a real Prometheus (Debian's package) on loopback. The demo's
// workloads run on kwok and export nothing, so Prometheus scrapes a small exporter of the demo's own
// that reports each cluster's appserver error ratio (1 % everywhere: the gate holds).
let prometheus: TestPrometheus | undefined;
try {
  prometheus = await startPrometheus({ dir: join(work, 'prometheus') });
  for (const c of clusterNames) prometheus.exporter.set('appserver_error_ratio', { cluster: c }, 0.01);
  say(`Prometheus on ${prometheus.url}, scraping the demo's exporter of appserver_error_ratio per cluster every second`);
} catch (e) {
  say(`Prometheus could not be started (${(e as Error).message}); the metric gate is left out`);
}
process.on('exit', () => void prometheus?.stop());
const secrets = join(work, 'secrets');
mkdirSync(secrets, { mode: 0o700 });
const ticketSecret = randomBytes(24).toString('hex');
writeFileSync(join(secrets, 'dns-tsig'), bind ? bind.tsig.secret : '', { mode: 0o600 });
const serveEnv: NodeJS.ProcessEnv = {
  ...process.env,
  RINGMASTER_TICKET_WEBHOOK_SECRET: ticketSecret,
  ...(bind ? {
    RINGMASTER_DNS_SERVER: `127.0.0.1:${bind.port}`, RINGMASTER_DNS_ZONE: bind.zone, RINGMASTER_DNS_TSIG_KEY_NAME: bind.tsig.name,
    RINGMASTER_DNS_TSIG_ALGORITHM: bind.tsig.algorithm, RINGMASTER_DNS_TSIG_SECRET_FILE: join(secrets, 'dns-tsig'),
  } : {}),
};
const data = join(work, 'data');
const admin = JSON.parse(cli(['token', 'create', '--name', 'demo-admin', '--role', 'admin', '--data-dir', data, '-o', 'json'])).token as string;
const port = await freePort(7420);
const server = `http://127.0.0.1:${port}`;
const log = openSync(join(work, 'serve.log'), 'a');
const serve: ChildProcess = spawn(
  process.execPath,
  [bin, 'serve', '--port', String(port), '--data-dir', data, '--fleet-repo', fleet, '--fleet-repository', 'acme/fleet', '--manifest-repo', manifests, '--manifest-repository', 'acme/manifests', '--kubeconfig', kubeconfig, ...(kube ? ['--management-context', 'management', '--argocd-repo-url', `file://${manifests}`] : []), '--time-scale', '0.05', '--log-level', 'warn', ...(prometheus ? ['--prometheus-url', prometheus.url] : [])],
  { stdio: ['ignore', log, log], env: serveEnv },
);
let stopping = false;
// However the demo ends (an error included), the server does not outlive it.
process.on('exit', () => serve.kill('SIGTERM'));
serve.on('exit', (code) => {
  if (!stopping) {
    say(`ringmaster serve exited unexpectedly (${code}); see ${join(work, 'serve.log')}`);
    process.exit(1);
  }
});
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${server}/readyz`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 300) throw new Error(`ringmaster serve did not become ready; see ${join(work, 'serve.log')}`);
  await sleep(100);
}
say(`listening on ${server} (log: ${join(work, 'serve.log')})`);

async function api<T = any>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
const newToken = async (name: string, role: string) => (await api<{ token: string }>(admin, 'POST', '/tokens', { name, role })).token;
const ci = await newToken('ci-pipeline', 'deployer');
const alice = await newToken('alice', 'approver');
const viewer = await newToken('demo-viewer', 'viewer');
await api(admin, 'PUT', '/apps/appserver', { team: 'platform-apps', repositories: ['acme/appserver'], contacts: ['appserver-oncall@example.net'] });
await api(admin, 'PUT', '/apps/metrics-agent', { team: 'observability', contacts: ['observability@example.net'] });
say('tokens: demo-admin (admin), ci-pipeline (deployer), alice (approver), demo-viewer (viewer)');
say(`${bold('Dashboard')}: ${server}/changes#token=${viewer}  (signed in as a viewer; the admin token is ${admin})`);

// ---------------------------------------------------------------------------------------------
const digest = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex');
let buildNo = 4100;

/** A source change in the app repo, built by CI, its image pushed to both regional registries. */
async function appChange(p: Person, version: string, message: string): Promise<string> {
  writeFileSync(join(appRepo, 'VERSION'), version + '\n');
  git(appRepo, ['commit', '-q', '-am', message], p);
  const sha = git(appRepo, ['rev-parse', 'HEAD']);
  const build = `ci-${++buildNo}`;
  const buildUrl = `https://ci.example.net/acme/appserver/builds/${buildNo}`;
  const base = { app: 'appserver', team: 'platform-apps', repository: 'acme/appserver', commit: sha, branch: 'main' };
  await api(ci, 'POST', '/events', { kind: 'commit', ...base, author: p.name, authorEmail: p.email, message, url: `https://git.example.net/acme/appserver/commit/${sha}` });
  await api(ci, 'POST', '/events', { kind: 'build.started', ...base, buildId: build, buildUrl });
  await sleep(600);
  await api(ci, 'POST', '/events', {
    events: [
      { kind: 'build.finished', ...base, buildId: build, buildUrl, status: 'succeeded' },
      ...['eu', 'us'].map((r) => ({ kind: 'image.pushed', ...base, buildId: build, image: `registry.${r}.example.net/appserver:${version}`, imageDigest: digest(`${r}:${version}`) })),
    ],
  });
  say(`${p.name} committed ${sha.slice(0, 12)} "${message}"; CI build ${build} pushed appserver:${version}`);
  return sha;
}

/** A fleet-repo commit (as a merged pull request would make), reported like a Git host's push. */
async function fleetChange(p: Person, message: string, edit: () => void): Promise<string> {
  const before = git(fleet, ['rev-parse', 'HEAD']);
  edit();
  git(fleet, ['commit', '-q', '-am', message], p);
  const after = git(fleet, ['rev-parse', 'HEAD']);
  say(dim(cli(['plan', '--repo', fleet, '--from', before, '--to', after, '--no-diff'], [0, 2]).split('\n').slice(1, 3).join('\n')));
  await api(ci, 'POST', '/events', { kind: 'commit', repository: 'acme/fleet', commit: after, previousCommit: before, branch: 'main', author: p.name, authorEmail: p.email, message });
  return after;
}

function sed(file: string, from: string, to: string): void {
  execFileSync('sed', ['-i', `s|${from}|${to}|`, join(fleet, file)]);
}

const TERMINAL = new Set(['succeeded', 'failed', 'halted', 'aborted', 'rolled_back']);

/** Creates a release as CI would, approves manual rings as alice, and narrates its progress. */
async function release(revision: string, message: string, opts: { instances?: string[]; tag?: string } = {}): Promise<string> {
  const created = await api(ci, 'POST', '/releases', { revision, message, ...(opts.instances ? { instances: opts.instances } : {}) });
  const tag = opts.tag ? `${opts.tag.padEnd(16)}` : '';
  const say = (line: string) => sayLine(line.startsWith('  ') ? `  ${tag}${line.slice(2)}` : `${tag}${line}`);
  say(`release ${created.id}${created.state === 'queued' ? ` queued behind ${created.waitsFor.join(', ')}` : ''}: ${created.summary.instances} instance(s) on ${created.summary.clusters} cluster(s) — rings ${Object.entries(created.summary.rings).map(([r, n]) => `${r}: ${n}`).join(', ')}`);
  const seen = new Map<string, string>();
  for (;;) {
    const rel = await api(viewer, 'GET', `/releases/${created.id}`);
    for (const ring of rel.rings) {
      for (const wave of ring.waves) {
        for (const c of wave.clusters) {
          const key = `${ring.ring}/${c.cluster}`;
          const line = `${c.state}${c.reason && c.state !== 'succeeded' ? ` — ${c.reason}` : ''}`;
          if (seen.get(key) !== line) {
            seen.set(key, line);
            say(`  ${ring.ring.padEnd(7)} ${c.cluster.padEnd(12)} ${c.mode.padEnd(7)} ${line}`);
          }
        }
      }
      if (ring.state === 'waiting_for_approval' && seen.get(ring.ring) !== 'asked') {
        seen.set(ring.ring, 'asked');
        await sleep(1500);
        await api(alice, 'POST', `/releases/${created.id}/approve`, { ring: ring.ring, comment: 'dashboards look good' });
        say(`  ${ring.ring.padEnd(7)} approved by alice (approver)`);
      }
    }
    if (rel.rollback && seen.get('rollback') !== rel.rollback.state) {
      seen.set('rollback', rel.rollback.state);
      say(`  rollback ${rel.rollback.state}`);
    }
    for (const ring of rel.rings) {
      for (const gate of ring.metrics ?? []) {
        const done = gate.measurements.length;
        if (done && seen.get(`gate/${ring.ring}`) !== String(done) && done % gate.count === 0) {
          seen.set(`gate/${ring.ring}`, String(done));
          const values = gate.measurements.map((m: { value: number | null }) => m.value).filter((v: number | null) => v !== null);
          say(`  ${ring.ring.padEnd(7)} metric gate ${gate.gate}: ${done} measurement(s) of ${gate.query.replace(/\{\{cluster\}\}/, '…')}, max ${Math.max(...values)} (threshold max ${gate.threshold.max}), ${gate.measurements.filter((m: { ok: boolean }) => !m.ok).length} failed`);
        }
      }
    }
    if (TERMINAL.has(rel.state)) {
      say(`release ${created.id} ${bold(rel.state)}${rel.reason ? ` — ${rel.reason}` : ''}`);
      return rel.state;
    }
    await sleep(700);
  }
}

if (prometheus) {
  step('The platform team gates the canary ring on a metric: each canary cluster\'s appserver error ratio must stay under 5 %');
  await fleetChange(people.maria, 'canary: a metric gate on the appserver error ratio', () => {
    const file = join(fleet, 'ringmaster.yaml');
    const text = readFileSync(file, 'utf8');
    const canary = text.indexOf('- name: canary');
    const at = text.indexOf('progressDeadline: 10m\n', canary) + 'progressDeadline: 10m\n'.length;
    const gate = [
      '      metrics:',
      '        - name: error-rate',
      `          query: 'max(appserver_error_ratio{cluster="{{cluster}}"})'`,
      '          threshold: { max: 0.05 }',
      '          interval: 20s',
      '          count: 3',
      '',
    ].join('\n');
    writeFileSync(file, text.slice(0, at) + gate + text.slice(at));
  });
  say('Prometheus checked the query when each release below was created; the gate measures every canary cluster once it is healthy');
}

step('Change 1: appserver 7.5.0 — CI builds it, the fleet adopts it, and it is released ring by ring');
await appChange(people.maria, '7.5.0', 'Faster cache rebuild after a synchronizer restart');
const rev1 = await fleetChange(people.maria, 'appserver 7.5.0 everywhere', () => sed('apps/appserver/app.yaml', 'tag: "7.4.1"', 'tag: "7.5.0"'));
await release(rev1, 'appserver 7.5.0');

step('Changes 2 and 3 at once, by two teams: observability sets metrics-agent to scrape every 15 s while platform-apps ships appserver 7.5.1 — which has a bug: it never turns healthy in the first ring, so that release halts and rolls back by itself, and the other one goes on');
const rev2 = await fleetChange(people.sam, 'metrics-agent: scrape every 15s', () => sed('apps/metrics-agent/app.yaml', 'scrapeInterval: 30s', 'scrapeInterval: 15s'));
await appChange(people.sam, '7.5.1', 'Retry cache downloads in parallel');
const rev3 = await fleetChange(people.sam, 'appserver 7.5.1', () => sed('apps/appserver/app.yaml', 'tag: "7.5.0"', 'tag: "7.5.1"'));
// each team releases what its own commit changed: platform-apps the appserver instances of the plan from rev2 to rev3
const changedBy = (from: string, to: string) => [...new Set((JSON.parse(cli(['plan', '--repo', fleet, '--from', from, '--to', to, '-o', 'json'], [2])) as { instances: Array<{ instance: string }> }).instances.map((i) => i.instance))];
const appserverInstances = changedBy(rev2, rev3);
await Promise.all([
  release(rev2, 'metrics-agent scrape interval', { tag: '[metrics-agent]' }),
  sleep(300).then(() => release(rev3, 'appserver 7.5.1', { instances: appserverInstances, tag: '[appserver]' })),
]);
// the fleet repo still says 7.5.1 after the rollback: a tenant provisioned now would start on the bad
// version, so the team reverts the fleet change (every cluster runs 7.5.0 already: nothing to release)
await fleetChange(people.sam, 'Revert "appserver 7.5.1"', () => sed('apps/appserver/app.yaml', 'tag: "7.5.1"', 'tag: "7.5.0"'));
say('reverted in the fleet repo: new tenants start from 7.5.0, which every cluster runs');

// ---------------------------------------------------------------------------------------------
step('Day 2: one frontend of appserver-acme gets a fix (7.5.2) on its own — a NodeOperation: taken dark, upgraded, served again');
if (kube) {
  // through the control plane's API as alice (an approver: upgradeNode is a risky operation), so
  // the operation is role-checked, audited and on the instance's journey and dashboard page
  const via = ['--server', server, '--token', alice];
  const fix = 'registry.eu.example.net/appserver:7.5.2';
  try {
    say(dim('$ ringmaster node list appserver-acme'));
    say(cli(['node', 'list', 'appserver-acme', ...via]).trimEnd());
    say(dim(`$ ringmaster node upgrade appserver-acme frontend-1 --image ${fix} --dry-run`));
    say(cli(['node', 'upgrade', 'appserver-acme', 'frontend-1', '--image', fix, '--dry-run', ...via]).trimEnd());
    say(dim(`$ ringmaster node upgrade appserver-acme frontend-1 --image ${fix} --name upgrade-frontend-1 --approve --wait`));
    cli(['node', 'upgrade', 'appserver-acme', 'frontend-1', '--image', fix, '--name', 'upgrade-frontend-1', '--approve', '--wait', '--timeout', '180', '-o', 'json', ...via], [0, 1]);
    const op = JSON.parse(cli(['op', 'status', 'upgrade-frontend-1', '--instance', 'appserver-acme', '-o', 'json', ...via])) as { phase: string; reason?: string; steps: { name: string; phase: string; message?: string }[] };
    for (const s of op.steps) say(`  step ${s.name.padEnd(8)} ${s.phase}${s.message ? ` — ${s.message}` : ''}`);
    say(`NodeOperation upgrade-frontend-1 ${bold(op.phase)}${op.reason && op.reason !== op.phase ? ` — ${op.reason}` : ''} (audited, on the journey; its page: ${server}/fleet/dev-eu-1/appserver-acme)`);
    say(cli(['node', 'list', 'appserver-acme', ...via]).trimEnd());
  } catch (e) {
    say(`The NodeOperation did not finish: ${(e as Error).message}`);
  }
} else {
  say('skipped: the local fleet is not running');
}

step('Provision: a new tenant through one request — preflight, dry run, approval from the change ticket, ordered steps, its DNS record');
if (kube) {
  try {
    const ticket = 'CHG-2041';
    const body = { kind: 'provision', app: 'appserver', cluster: 'dev-eu-1', name: 'appserver-soylent', ticket, reason: 'new tenant Soylent (order 7731)', values: { backend: { replicas: 1 } } };
    const dry = await api(ci, 'POST', '/requests', { ...body, dryRun: true });
    say('preflight:');
    for (const c of dry.preflight) say(`  ${c.ok ? '✓' : '✗'} ${c.check} — ${c.reason}`);
    say(`dry run, in order: ${dry.dryRun.order.join(' → ')}`);
    for (const o of dry.dryRun.outside) say(`  ${o.step}: ${o.summary}`);
    say(dim(dry.dryRun.fleetDiff.trimEnd()));
    const req = await api(ci, 'POST', '/requests', body);
    say(`request ${req.id} ${req.state} (ticket ${ticket}, by ci-pipeline)`);
    // the change board approves the ticket in the ticketing system, which calls Ringmaster's signed webhook
    const payload = JSON.stringify({ ticket, state: 'approved', by: 'change-board', comment: 'approved in the weekly change board' });
    const hook = await fetch(`${server}/api/v1/webhooks/ticket`, { method: 'POST', headers: { 'content-type': 'application/json', ...signTicketWebhook(ticketSecret, payload, Date.now()), 'x-ringmaster-delivery': `ticketing-${randomBytes(6).toString('hex')}` }, body: payload });
    say(`ticket ${ticket} approved by the change board → POST /api/v1/webhooks/ticket ${hook.status}`);
    const seen = new Map<string, string>();
    let view = req;
    for (let i = 0; i < 600; i++) {
      view = await api(viewer, 'GET', `/requests/${req.id}`);
      for (const st of view.steps) {
        const line = `${st.state}${st.message ? ` — ${st.message}` : ''}`;
        if (seen.get(st.name) !== line && st.state !== 'pending') {
          seen.set(st.name, line);
          say(`  step ${st.name.padEnd(13)} ${line}`);
        }
      }
      if (['succeeded', 'failed', 'rejected', 'cancelled'].includes(view.state)) break;
      await sleep(700);
    }
    say(`request ${req.id} ${bold(view.state)} (audited, on the journey; its page: ${server}/requests/${req.id})`);
    if (bind) {
      const name = `appserver-soylent.${bind.zone}`;
      say(dim(`$ dig @127.0.0.1 -p ${bind.port} ${name} A +short`));
      say(`${name} → ${(await bind.dig(name, 'A')).join(', ') || '(no answer)'}`);
    }
  } catch (e) {
    say(`The provisioning request did not finish: ${(e as Error).message}`);
  }
} else {
  say('skipped: the local fleet is not running');
}

step('What the manifest repo received (each commit traced back by its trailers)');
say(git(manifests, ['log', '--format=%h %s', '-n', '12', 'main']));

if (screenshots) {
  step('Screenshots of every dashboard view, from this data');
  const { takeScreenshots } = await import('./screenshots.ts');
  for (const f of await takeScreenshots(server, admin, join(root, 'docs', 'screenshots'))) say(`wrote ${f}`);
}

step('Done');
say(`Dashboard: ${bold(`${server}/changes#token=${viewer}`)}  (viewer)   admin token: ${admin}`);
say(`CLI:       RINGMASTER_SERVER=${server} RINGMASTER_TOKEN=${admin} npm run ringmaster -- release status`);
if (kube) say(`kubectl:   export KUBECONFIG=${kube.kubeconfigPath}; kubectl --context dev-eu-1 get pods -A`);

async function shutdown(code: number): Promise<never> {
  stopping = true;
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
  await kube?.stop();
  await bind?.stop();
  process.exit(code);
}
if (exitWhenDone) await shutdown(0);
say('\nServing until Ctrl-C.');
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
