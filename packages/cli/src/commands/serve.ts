import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { bundledWebRoot } from '../compiled.ts';
import { loadFleetFrom, openSource, planRevisions } from '@ringmaster/fleet';
import { createDnsProvider, dnsConfigFromEnv, planImageIntroductions, startServer, ticketClientFromEnv, type ImageIntroductionFinder, type ServerOptions } from '@ringmaster/server';

const run = promisify(execFile);
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

interface ServeOptions {
  host: string;
  port: string;
  dataDir: string;
  publicUrl?: string;
  databaseUrl?: string;
  fleetRepo?: string;
  fleetRepository?: string;
  manifestRepository?: string;
  rings?: string[];
  bodyLimit: string;
  logLevel: string;
  manifestRepo?: string;
  manifestBranch?: string;
  argocdRepoUrl?: string;
  kubeconfig?: string;
  managementContext?: string;
  clusterContext?: string[];
  timeScale?: string;
  prometheusUrl?: string;
}

/** Flighting (releases and delivery) runs when both the fleet repo and the manifest repo are given. */
function flightingOptions(opts: ServeOptions): ServerOptions['flighting'] {
  if (!opts.manifestRepo) return undefined;
  if (!opts.fleetRepo) throw usage('--manifest-repo needs --fleet-repo (releases name revisions of the fleet repo)');
  const clusters: Record<string, { context: string }> = {};
  for (const pair of opts.clusterContext ?? []) {
    const [cluster, context] = pair.split('=');
    if (!cluster || !context) throw usage(`--cluster-context takes CLUSTER=CONTEXT (got "${pair}")`);
    clusters[cluster] = { context };
  }
  const timeScale = opts.timeScale === undefined ? undefined : Number(opts.timeScale);
  if (timeScale !== undefined && !(timeScale > 0)) throw usage(`--time-scale must be a positive number (got "${opts.timeScale}")`);
  return {
    fleetRepo: opts.fleetRepo,
    manifestRepo: { url: opts.manifestRepo, branch: opts.manifestBranch, argocdURL: opts.argocdRepoUrl },
    access: {
      kubeconfig: opts.kubeconfig,
      clusters,
      management: opts.managementContext ? { kubeconfig: opts.kubeconfig, context: opts.managementContext } : undefined,
    },
    timeScale,
    // metric gates only: Prometheus is asked when the fleet declares gates
    prometheusUrl: opts.prometheusUrl ?? (process.env.RINGMASTER_PROMETHEUS_URL || undefined),
  };
}

/** Plans over a local clone of the fleet repo, fetching first when a pushed commit is not there yet. */
function fleetFinder(dir: string): ImageIntroductionFinder {
  const plan = planImageIntroductions(planRevisions, dir);
  return {
    async find(input) {
      const have = await run('git', ['-C', dir, 'cat-file', '-e', `${input.to}^{commit}`]).then(() => true, () => false);
      if (!have) await run('git', ['-C', dir, 'fetch', '--quiet', '--all']);
      return plan.find(input);
    },
  };
}

/** The requests API's outside parts, from the environment (secrets never come from flags). */
function requestOptions(env: NodeJS.ProcessEnv): ServerOptions['requests'] {
  let dns;
  let tickets;
  try {
    const config = dnsConfigFromEnv(env);
    dns = config ? createDnsProvider(config) : null;
    tickets = ticketClientFromEnv(env);
  } catch (err) {
    throw usage((err as Error).message);
  }
  return { dns, tickets, ...(env.RINGMASTER_TICKET_WEBHOOK_SECRET ? { ticketWebhookSecret: env.RINGMASTER_TICKET_WEBHOOK_SECRET } : {}) };
}

function webhookSecrets(env: NodeJS.ProcessEnv): ServerOptions['webhooks'] {
  const hooks: NonNullable<ServerOptions['webhooks']> = {};
  if (env.RINGMASTER_GITHUB_WEBHOOK_SECRET) hooks.github = { secret: env.RINGMASTER_GITHUB_WEBHOOK_SECRET };
  if (env.RINGMASTER_GITLAB_WEBHOOK_TOKEN) hooks.gitlab = { token: env.RINGMASTER_GITLAB_WEBHOOK_TOKEN };
  if (env.RINGMASTER_AZURE_WEBHOOK_SECRET || env.RINGMASTER_AZURE_WEBHOOK_PASSWORD) {
    hooks.azure = {
      secret: env.RINGMASTER_AZURE_WEBHOOK_SECRET,
      username: env.RINGMASTER_AZURE_WEBHOOK_USERNAME ?? (env.RINGMASTER_AZURE_WEBHOOK_PASSWORD ? 'ringmaster' : undefined),
      password: env.RINGMASTER_AZURE_WEBHOOK_PASSWORD,
    };
  }
  return hooks;
}

/** `serve`: the control plane's HTTP API on SQLite (default) or PostgreSQL. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('run the control plane API (events, webhooks, journey, DORA) until SIGINT/SIGTERM')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '7420')
    .option('--data-dir <dir>', 'folder of the embedded SQLite database', '.ringmaster')
    .option('--database-url <url>', 'postgres://… to use PostgreSQL instead of SQLite (or RINGMASTER_DATABASE_URL)')
    .option('--fleet-repo <dir>', 'local clone of the fleet repo, to find which fleet change introduces an image')
    .option('--fleet-repository <name>', 'name of the fleet repo as events and webhooks give it (e.g. acme/fleet)')
    .option('--manifest-repository <name>', 'name of the manifest repo as events and webhooks give it')
    .option('--rings <list>', 'rings in promotion order, comma-separated (default: read from --fleet-repo)', list)
    .option('--body-limit <bytes>', 'largest accepted request body', String(1024 * 1024))
    .option('--log-level <level>', 'fatal | error | warn | info | debug', 'info')
    .option('--manifest-repo <url>', 'manifest repo to deliver into (a local path or a remote URL); turns on releases')
    .option('--manifest-branch <branch>', 'branch of the manifest repo', 'main')
    .option('--argocd-repo-url <url>', 'URL Argo CD reads the manifest repo from (default: --manifest-repo)')
    .option('--kubeconfig <file>', 'kubeconfig to reach clusters (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--management-context <name>', 'kubeconfig context of the cluster where Argo CD Applications live')
    .option('--cluster-context <cluster=context>', 'kubeconfig context of a cluster (repeatable; default: the fleet\'s delivery.direct.context)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--time-scale <factor>', 'multiply the fleet\'s soak and deadline durations (e.g. 0.01 for demos)')
    .option('--prometheus-url <url>', 'Prometheus for the fleet\'s metric gates (or RINGMASTER_PROMETHEUS_URL); asked only when the fleet declares gates')
    .option('--public-url <url>', 'the server\'s URL as people open it: the release link in notifications (default: http://<host>:<port>)')
    .addHelpText('after', '\nWebhook secrets come from the environment, never from flags: RINGMASTER_GITHUB_WEBHOOK_SECRET,\nRINGMASTER_GITLAB_WEBHOOK_TOKEN, RINGMASTER_AZURE_WEBHOOK_SECRET or RINGMASTER_AZURE_WEBHOOK_USERNAME/PASSWORD,\nRINGMASTER_TICKET_WEBHOOK_SECRET. Requests (docs/requests.md) write DNS records through RINGMASTER_DNS_SERVER,\nRINGMASTER_DNS_ZONE, RINGMASTER_DNS_TSIG_KEY_NAME, RINGMASTER_DNS_TSIG_ALGORITHM and RINGMASTER_DNS_TSIG_SECRET_FILE,\nand call the ticketing system at RINGMASTER_TICKET_URL (signed with RINGMASTER_TICKET_SECRET).')
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      const bodyLimit = Number(opts.bodyLimit);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port must be 0-65535 (got "${opts.port}")`);
      if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) throw usage(`--body-limit must be an integer ≥ 1024 (got "${opts.bodyLimit}")`);
      if (opts.publicUrl !== undefined && !/^https?:\/\/[^/\s]+/.test(opts.publicUrl)) throw usage(`--public-url must be an http:// or https:// URL (got "${opts.publicUrl}")`);
      let rings = opts.rings;
      if (!rings && opts.fleetRepo) {
        const fleet = await loadFleetFrom(await openSource(opts.fleetRepo, 'HEAD'));
        rings = fleet.rings.map((r) => r.name);
      }
      // the server takes the dashboard from RINGMASTER_WEB_ROOT; one the user set wins over the carried one
      const web = bundledWebRoot();
      if (web) process.env.RINGMASTER_WEB_ROOT ??= web;
      const server = await startServer({
        host: opts.host, port, dataDir: opts.dataDir, databaseUrl: opts.databaseUrl ?? process.env.RINGMASTER_DATABASE_URL,
        bodyLimit, logLevel: opts.logLevel as ServerOptions['logLevel'], webhooks: webhookSecrets(process.env),
        finder: opts.fleetRepo ? fleetFinder(opts.fleetRepo) : undefined,
        settings: { fleetRepository: opts.fleetRepository, manifestRepository: opts.manifestRepository, rings },
        flighting: flightingOptions(opts),
        requests: requestOptions(process.env),
        notifications: { publicUrl: opts.publicUrl },
      });
      server.app.log.info({ url: server.url, database: server.storage.dialect, location: server.storage.location }, 'ringmaster serve is listening');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}

function usage(message: string): Error {
  return new UsageError(message);
}
