import type { Command } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@ringmaster/kube';
import { jsonLogger, startOperator } from '@ringmaster/operator';
import { UsageError } from '../errors.ts';

interface OperatorCommandOptions {
  kubeconfig?: string;
  kubeContext?: string;
  namespace?: string;
  leaseName: string;
  leaseNamespace?: string;
  leaseDurationSeconds: string;
  metricsPort: string;
  identity?: string;
  installCrds: boolean;
}

/** A client for --kubeconfig (else $KUBECONFIG, else ~/.kube/config) and --kube-context. */
export function kubeClientFrom(kubeconfig: string | undefined, context: string | undefined): KubeClient {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) throw new UsageError(`--kube-context: the kubeconfig has no context "${context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(context);
  }
  return new KubeClient(kc);
}

function int(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max} (got "${value}")`);
  return n;
}

/** `operator`: runs the AppCluster / NodeOperation operator until SIGINT/SIGTERM. */
export function registerOperatorCommands(program: Command): void {
  program
    .command('operator')
    .description('run the stateful node operator (AppCluster, NodeOperation) against a cluster until SIGINT/SIGTERM; one leader per Lease')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--kube-context <name>', 'kubeconfig context (default: its current context)')
    .option('--namespace <name>', 'watch this namespace only (default: every namespace)')
    .option('--lease-name <name>', 'name of the coordination.k8s.io Lease the operator processes elect a leader on', 'ringmaster-operator')
    .option('--lease-namespace <name>', 'namespace of the Lease (default: --namespace, else "default")')
    .option('--lease-duration-seconds <n>', 'how long a leader\'s claim lasts without renewal', '15')
    .option('--metrics-port <port>', 'port of /metrics, /healthz and /readyz on 127.0.0.1 (0: any free port)', '9464')
    .option('--identity <id>', 'this process\'s identity in the Lease and in Events (default: hostname-pid-random)')
    .option('--no-install-crds', 'do not apply the CustomResourceDefinitions at start')
    .action(async (opts: OperatorCommandOptions) => {
      const leaseDurationSeconds = int('--lease-duration-seconds', opts.leaseDurationSeconds, 3, 300);
      const metricsPort = int('--metrics-port', opts.metricsPort, 0, 65535);
      const client = kubeClientFrom(opts.kubeconfig, opts.kubeContext);
      const log = jsonLogger({ component: 'operator' });
      const retryPeriodMs = Math.max(500, Math.floor((leaseDurationSeconds * 1000) / 6));
      const op = await startOperator({
        client,
        namespace: opts.namespace,
        leaseName: opts.leaseName,
        leaseNamespace: opts.leaseNamespace,
        identity: opts.identity,
        metricsPort,
        installCrds: opts.installCrds,
        leaseDurationSeconds,
        retryPeriodMs,
        renewDeadlineMs: Math.floor(leaseDurationSeconds * 1000 * 2 / 3),
        logger: log,
      });
      log.info('operator started', { identity: op.identity, metricsPort: op.port, namespace: opts.namespace ?? '(all)', lease: opts.leaseName });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await op.stop();
      client.close();
    });
}
