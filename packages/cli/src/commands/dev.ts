import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { KubeError, readLocalKubeState, startLocalKube, stopLocalKubeAt } from '@ringmaster/kube';
import { parseOutput, writeMachine } from '../output.ts';

/** Where `dev kube up` keeps its state: $RINGMASTER_HOME/kube, else ~/.ringmaster/kube. */
function defaultKubeDir(): string {
  return join(process.env.RINGMASTER_HOME ?? join(homedir(), '.ringmaster'), 'kube');
}

const exportLine = (kubeconfig: string) => `export KUBECONFIG=${kubeconfig}`;

/** `dev kube up|down|env`: a local kube-apiserver + etcd for people and for the demo. */
export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('tools for developing Ringmaster and running its demo locally');
  const kube = dev.command('kube').description('a local Kubernetes API (kube-apiserver + etcd built by scripts/setup.sh), no nodes or controllers');

  kube
    .command('up')
    .description('start the local Kubernetes API in the background (builds the binaries the first time) and print how to use it')
    .option('--dir <dir>', 'state folder (certificates, etcd data, logs, kubeconfig)', defaultKubeDir())
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action(async (opts: { dir: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      let state = readLocalKubeState(opts.dir);
      let started = false;
      if (!state?.running) {
        // a stale state folder (processes gone, e.g. after a reboot) is replaced wholesale
        if (state) await stopLocalKubeAt(opts.dir);
        const local = await startLocalKube({ dir: opts.dir, detached: true, keepDir: true });
        state = readLocalKubeState(local.dir);
        started = true;
      }
      if (!state) throw new KubeError('RINGMASTER_KUBE_LOCAL', `the local Kubernetes API started but left no state in ${opts.dir}`);
      const result = {
        started,
        server: state.server,
        kubeconfig: state.kubeconfigPath,
        kubernetesVersion: state.kubernetesVersion,
        etcdVersion: state.etcdVersion,
        dir: opts.dir,
        pids: state.pids,
        export: exportLine(state.kubeconfigPath),
      };
      if (writeMachine(format, result)) return;
      process.stdout.write(`${started ? 'started' : 'already running'}: Kubernetes ${state.kubernetesVersion} API at ${state.server} (etcd ${state.etcdVersion})\n`);
      process.stdout.write(`point kubectl at it with:\n\n  ${result.export}\n  kubectl get namespaces\n\nstop it with: ringmaster dev kube down\n`);
    });

  kube
    .command('down')
    .description('stop the local Kubernetes API and delete its data')
    .option('--dir <dir>', 'state folder', defaultKubeDir())
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action(async (opts: { dir: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const stopped = await stopLocalKubeAt(opts.dir);
      if (!writeMachine(format, { stopped, dir: opts.dir })) {
        process.stdout.write(stopped ? `stopped the local Kubernetes API and removed ${opts.dir}\n` : `no local Kubernetes API was running in ${opts.dir}\n`);
      }
    });

  kube
    .command('env')
    .description('print the shell line that points kubectl at the local Kubernetes API')
    .option('--dir <dir>', 'state folder', defaultKubeDir())
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action((opts: { dir: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const state = readLocalKubeState(opts.dir);
      if (!state?.running) {
        throw new KubeError('RINGMASTER_KUBE_NOT_RUNNING', `no local Kubernetes API is running in ${opts.dir}: start one with \`ringmaster dev kube up\``);
      }
      const result = { KUBECONFIG: state.kubeconfigPath, server: state.server, export: exportLine(state.kubeconfigPath) };
      // the bare line, so that eval "$(ringmaster dev kube env)" works
      if (!writeMachine(format, result)) process.stdout.write(result.export + '\n');
    });
}
