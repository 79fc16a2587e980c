import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { applyObjects, type KubeClient } from '@ringmaster/kube';
import { OPERATOR_FIELD_MANAGER } from './constants.ts';
import { Controller } from './controller.ts';
import { operatorCrds } from './crds.ts';
import { runWithLeaderElection } from './lease.ts';
import { errorMessage, jsonLogger, type Logger } from './log.ts';
import { OperatorMetrics } from './metrics.ts';
import type { OperatorTemplate } from './nodes.ts';

/** Options of startOperator. */
export interface OperatorOptions {
  client: KubeClient;
  /** Watch this namespace only (default: every namespace). */
  namespace?: string;
  /** Where the Lease lives (default: `namespace`, else "default"). */
  leaseNamespace?: string;
  leaseName?: string;
  /** Default: hostname + pid + random suffix. */
  identity?: string;
  template?: OperatorTemplate;
  /** Serve /metrics, /healthz and /readyz on 127.0.0.1 at this port (0: any free port; absent: no server). */
  metricsPort?: number;
  /** Apply the CRDs at start (default true). */
  installCrds?: boolean;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
  renewDeadlineMs?: number;
  recheckMs?: number;
  logger?: Logger;
}

/** A running operator process part: leader election around the controller. */
export interface RunningOperator {
  identity: string;
  metrics: OperatorMetrics;
  /** The metrics/health port, when served. */
  port?: number;
  isLeader(): boolean;
  /** The controller while this process leads. */
  controller(): Controller | undefined;
  /** Resolves the first time this process leads and its caches are synced. */
  leading: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the operator: installs the CRDs, serves metrics and health, and runs the controller while it holds the Lease. */
export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const identity = opts.identity ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = opts.logger ?? jsonLogger({ component: 'operator', identity });
  const metrics = new OperatorMetrics();
  if (opts.installCrds !== false) await applyObjects(opts.client, operatorCrds, { fieldManager: OPERATOR_FIELD_MANAGER });
  let controller: Controller | undefined;
  let resolveLeading!: () => void;
  const leading = new Promise<void>((r) => (resolveLeading = r));
  const stopAll = new AbortController();

  let server: Server | undefined;
  let port: number | undefined;
  if (opts.metricsPort !== undefined) {
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        }, (err: unknown) => {
          res.writeHead(503, { 'Content-Type': 'text/plain' });
          res.end(errorMessage(err));
        });
      } else if (req.url === '/healthz' || req.url === '/readyz') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ ok: true, leader: controller !== undefined, identity }));
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(opts.metricsPort, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    port = typeof addr === 'object' && addr ? addr.port : undefined;
  }

  const election = runWithLeaderElection(
    opts.client,
    {
      namespace: opts.leaseNamespace ?? opts.namespace ?? 'default',
      name: opts.leaseName ?? 'ringmaster-operator',
      identity,
      leaseDurationSeconds: opts.leaseDurationSeconds,
      retryPeriodMs: opts.retryPeriodMs,
      renewDeadlineMs: opts.renewDeadlineMs,
      logger: log,
    },
    async (signal) => {
      const c = new Controller(opts.client, { namespace: opts.namespace, template: opts.template, identity, logger: log, metrics, recheckMs: opts.recheckMs });
      metrics.leader.set(1);
      try {
        await c.start();
        controller = c;
        resolveLeading();
        await new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
      } finally {
        controller = undefined;
        c.stop();
        metrics.leader.set(0);
        log.info('stopped leading', { identity });
      }
    },
    stopAll.signal,
  );

  return {
    identity,
    metrics,
    ...(port !== undefined ? { port } : {}),
    isLeader: () => controller !== undefined,
    controller: () => controller,
    leading,
    stop: async () => {
      stopAll.abort();
      await election;
      if (server) await new Promise<void>((r) => server!.close(() => r()));
    },
  };
}
