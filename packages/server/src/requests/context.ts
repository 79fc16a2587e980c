import type { Cluster } from '@ringmaster/fleet';
import type { KubeClient } from '@ringmaster/kube';
import type { Flighting } from '../flighting/routes.ts';
import type { Logger } from '../flighting/context.ts';
import { UnavailableError } from '../errors.ts';
import type { DnsProvider } from '../outside/dns.ts';
import type { TicketClient } from '../outside/ticket.ts';

/** Server options of the requests API. */
export interface RequestOptions {
  /** Where DNS records of new instances are written (RFC 2136); none: apps that declare `dns:` cannot be provisioned. */
  dns?: DnsProvider | null;
  /** The ticketing system's webhook for open/update/close; none: the ticket steps are left out. */
  tickets?: TicketClient | null;
  /** Secret of the inbound ticket webhook (RINGMASTER_TICKET_WEBHOOK_SECRET); none: the webhook answers 404. */
  ticketWebhookSecret?: string;
  /** How often the runner looks at running requests, ms (default 1000). */
  pollIntervalMs?: number;
  /** Longest wait of one step (a release, an AppCluster turning Ready, an operation), ms (default 15 min). */
  stepTimeoutMs?: number;
  /** Attempts of an outside step (DNS, ticket) before the request fails (default 6). */
  outsideAttempts?: number;
  /** false: serve the API but run no request (a read-only replica). */
  runner?: boolean;
}

/** What preflight, dry run and the runner share. */
export interface RequestContext {
  flighting: Flighting;
  options: RequestOptions;
  dns: DnsProvider | null;
  tickets: TicketClient | null;
  /** Name of the fleet repository as the journey knows it (its commits are put on the journey). */
  fleetRepository?: string;
  log: Logger;
  now(): number;
}

/** The client of a fleet cluster, as delivery reaches it. */
export function clusterClient(ctx: RequestContext, cluster: Cluster): KubeClient {
  try {
    const context = cluster.delivery.mode === 'direct' ? cluster.delivery.direct?.context : undefined;
    return ctx.flighting.ctx.clients.forCluster(cluster.name, context);
  } catch (err) {
    throw new UnavailableError(`cluster ${cluster.name} has no usable kubeconfig: ${(err as Error).message}`);
  }
}
