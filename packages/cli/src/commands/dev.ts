import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  KubeError,
  readLocalFleetState,
  readLocalKubeState,
  startLocalFleet,
  startLocalKube,
  stopLocalFleetAt,
  stopLocalKubeAt,
  validateClusterNames,
  type LocalFleetState,
} from '@ringmaster/kube';
import { RUNS_COMPILED } from '../compiled.ts';
import { NeedsCheckoutError } from '../errors.ts';
import { parseOutput, writeMachine } from '../output.ts';

function ringmasterHome(): string {
  return process.env.RINGMASTER_HOME ?? join(homedir(), '.ringmaster');
}

/** Where `dev kube up` keeps its state: $RINGMASTER_HOME/kube, else ~/.ringmaster/kube. */
function defaultKubeDir(): string {
  return join(ringmasterHome(), 'kube');
}

// `up --dir X` records X here, so that `down` and `env` without --dir find what it started
const currentFile = () => join(ringmasterHome(), 'kube.current');

function rememberDir(dir: string): void {
  mkdirSync(ringmasterHome(), { recursive: true });
  writeFileSync(currentFile(), resolve(dir) + '\n');
}

/** The folder a command works on: --dir when given, else the one the last `up` used, else the default. */
function chosenDir(given: string | undefined): string {
  if (given) return given;
  if (existsSync(currentFile())) {
    const dir = readFileSync(currentFile(), 'utf8').trim();
    if (dir) return dir;
  }
  return defaultKubeDir();
}

function forgetDir(dir: string): void {
  if (existsSync(currentFile()) && readFileSync(currentFile(), 'utf8').trim() === resolve(dir)) rmSync(currentFile(), { force: true });
}

const exportLine = (kubeconfig: string) => `export KUBECONFIG=${kubeconfig}`;

/** `--clusters east,west`: the workload clusters of a local fleet (DNS labels, no duplicates). */
function parseClusters(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    validateClusterNames(names);
  } catch (err) {
    throw Object.assign(new Error(`--clusters: ${(err as Error).message}`), { code: 'RINGMASTER_USAGE' });
  }
  return names;
}

function fleetSummary(state: LocalFleetState, started: boolean, dir: string) {
  return {
    started,
    dir,
    kubeconfig: state.kubeconfigPath,
    contexts: state.clusters.map((c) => c.name),
    clusters: state.clusters,
    versions: state.versions,
    export: exportLine(state.kubeconfigPath),
  };
}

interface UpOptions {
  dir?: string;
  output: string;
  clusters?: string;
  management: string;
  argocd: boolean;
  nodes: string;
}

async function upFleet(dir: string, opts: UpOptions, format: ReturnType<typeof parseOutput>): Promise<void> {
  const clusters = parseClusters(opts.clusters!);
  const nodes = Number(opts.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50) throw Object.assign(new Error(`--nodes must be a whole number from 1 to 50 (got "${opts.nodes}")`), { code: 'RINGMASTER_USAGE' });
  let state = readLocalFleetState(dir);
  let started = false;
  if (!state?.running) {
    // a stale state folder (processes gone, e.g. after a reboot) is replaced wholesale
    if (state) await stopLocalFleetAt(dir);
    await startLocalFleet({ clusters, management: opts.management, argocd: opts.argocd, nodes, dir, detached: true, keepDir: true });
    state = readLocalFleetState(dir);
    started = true;
  }
  if (!state) throw new KubeError('RINGMASTER_KUBE_LOCAL', `the local fleet started but left no state in ${dir}`);
  rememberDir(dir);
  const result = fleetSummary(state, started, dir);
  if (writeMachine(format, result)) return;
  const v = state.versions;
  process.stdout.write(`${started ? 'started' : 'already running'}: Kubernetes ${v.kubernetes} (etcd ${v.etcd}, kwok ${v.kwok}${v.argocd ? `, Argo CD ${v.argocd}` : ''})\n`);
  for (const c of state.clusters) process.stdout.write(`  ${c.name.padEnd(16)} ${c.role.padEnd(10)} ${c.server}  ${c.nodes.length} kwok nodes\n`);
  process.stdout.write(`\none context per cluster:\n\n  ${result.export}\n  kubectl --context ${state.clusters[0]!.name} get nodes\n\nstop it with: ringmaster dev kube down\n`);
}

async function upSingle(dir: string, format: ReturnType<typeof parseOutput>): Promise<void> {
  let state = readLocalKubeState(dir);
  let started = false;
  if (!state?.running) {
    if (state) await stopLocalKubeAt(dir);
    const local = await startLocalKube({ dir, detached: true, keepDir: true });
    state = readLocalKubeState(local.dir);
    started = true;
  }
  if (!state) throw new KubeError('RINGMASTER_KUBE_LOCAL', `the local Kubernetes API started but left no state in ${dir}`);
  rememberDir(dir);
  const result = {
    started,
    server: state.server,
    kubeconfig: state.kubeconfigPath,
    kubernetesVersion: state.kubernetesVersion,
    etcdVersion: state.etcdVersion,
    dir,
    pids: state.pids,
    export: exportLine(state.kubeconfigPath),
  };
  if (writeMachine(format, result)) return;
  process.stdout.write(`${started ? 'started' : 'already running'}: Kubernetes ${state.kubernetesVersion} API at ${state.server} (etcd ${state.etcdVersion})\n`);
  process.stdout.write(`point kubectl at it with:\n\n  ${result.export}\n  kubectl get namespaces\n\nstop it with: ringmaster dev kube down\n`);
}

/** `dev kube up|down|env`: a local Kubernetes API, or a local fleet of clusters with Argo CD, for people and for the demo. */
export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('tools for developing Ringmaster and running its demo locally');
  const kube = dev.command('kube').description('a local Kubernetes API, or a local fleet (API server, controllers, scheduler and kwok nodes per cluster, plus Argo CD), built by scripts/setup.sh');

  kube
    .command('up')
    .description('start in the background (builds the binaries the first time) and print how to use it')
    .option('--dir <dir>', `state folder (certificates, etcd data, logs, kubeconfig; default ${defaultKubeDir()})`)
    .option('--clusters <names>', 'start a local fleet with these workload clusters (comma-separated), each with controllers, a scheduler and kwok nodes')
    .option('--management <name>', 'name of the fleet\'s management cluster, where Argo CD runs', 'management')
    .option('--no-argocd', 'a fleet without Argo CD (its CRDs are still installed on the management cluster)')
    .option('--nodes <n>', 'kwok nodes per workload cluster', '3')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action(async (opts: UpOptions) => {
      if (RUNS_COMPILED) {
        // the binaries are built by the repository's scripts (scripts/kube), which the packed CLI does not carry
        throw new NeedsCheckoutError('`ringmaster dev kube up` runs from a checkout of the Ringmaster repository: there, run `npm run ringmaster -- dev kube up`');
      }
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const dir = opts.dir ?? defaultKubeDir();
      if (opts.clusters !== undefined) {
        parseClusters(`${opts.clusters},${opts.management}`);
        await upFleet(dir, opts, format);
      } else await upSingle(dir, format);
    });

  kube
    .command('down')
    .description('stop what `up` started (in --dir, else where the last `up` ran) and delete its data')
    .option('--dir <dir>', 'state folder (default: the one the last `up` used)')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action(async (opts: { dir?: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const dir = chosenDir(opts.dir);
      const stopped = (await stopLocalFleetAt(dir)) || (await stopLocalKubeAt(dir));
      forgetDir(dir);
      if (!writeMachine(format, { stopped, dir })) {
        process.stdout.write(stopped ? `stopped the local Kubernetes API and removed ${dir}\n` : `no local Kubernetes API was running in ${dir}\n`);
      }
    });

  kube
    .command('env')
    .description('print the shell line that points kubectl at it (a local fleet: one context per cluster, named after it)')
    .option('--dir <dir>', 'state folder (default: the one the last `up` used)')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action((opts: { dir?: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const dir = chosenDir(opts.dir);
      const fleet = readLocalFleetState(dir);
      if (fleet?.running) {
        const result = { KUBECONFIG: fleet.kubeconfigPath, contexts: fleet.clusters.map((c) => ({ name: c.name, role: c.role, server: c.server })), export: exportLine(fleet.kubeconfigPath) };
        if (!writeMachine(format, result)) process.stdout.write(result.export + '\n');
        return;
      }
      const state = readLocalKubeState(dir);
      if (!state?.running) {
        throw new KubeError('RINGMASTER_KUBE_NOT_RUNNING', `no local Kubernetes API is running in ${dir}: start one with \`ringmaster dev kube up\``);
      }
      const result = { KUBECONFIG: state.kubeconfigPath, server: state.server, export: exportLine(state.kubeconfigPath) };
      // the bare line, so that eval "$(ringmaster dev kube env)" works
      if (!writeMachine(format, result)) process.stdout.write(result.export + '\n');
    });
}
