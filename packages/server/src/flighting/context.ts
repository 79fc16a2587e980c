import { join } from 'node:path';
import type { EventInput } from '../ingest/event-schema.ts';
import type { Storage } from '../storage/storage.ts';
import { ClusterClients, type ClusterAccessOptions } from '../delivery/clusters.ts';
import { ManifestRepo } from '../delivery/manifest-repo.ts';
import { ReleaseRenderer } from './render.ts';

/** Server options for flighting (releases and delivery). */
export interface FlightingOptions {
  /** Local clone of the fleet repo (releases name revisions of it). */
  fleetRepo: string;
  /** The manifest repo Ringmaster writes: a local path or a remote URL, cloned into workDir. */
  manifestRepo: {
    url: string;
    branch?: string;
    workDir?: string;
    /** The URL Argo CD clones the manifest repo from, when it differs from `url` (default: `url`). */
    argocdURL?: string;
  };
  /** Work folder (default: a "flighting" folder in the data folder, else the system temp folder). */
  workDir?: string;
  /** How clusters (direct mode) and the Argo CD management cluster are reached. */
  access?: ClusterAccessOptions;
  /** Multiplies the fleet's soak and progressDeadline durations (tests use e.g. 0.05). Default 1. */
  timeScale?: number;
  /** How often in-flight steps are observed, in ms (default 2000). The loop sleeps when nothing is in flight. */
  pollIntervalMs?: number;
  /** Longest time one cluster action may take before it counts as a failure (default 20 s). */
  actionTimeoutMs?: number;
  /** How long a just-delivered cluster must stay Degraded before its step fails (default 10 s, not scaled): a rollback's first moments can still show the bad rollout's state. */
  degradedConfirmMs?: number;
  /** Days a finished release is kept; unset keeps every release. Expired ones are deleted with an audit record. */
  retentionDays?: number;
  /** PostgreSQL: how long the engine lease holder may stay silent before a standby ends its session and takes over (default 15 s). */
  leaseMs?: number;
  /** Prometheus's base URL for metric gates (else RINGMASTER_PROMETHEUS_URL); asked only when the fleet declares gates. */
  prometheusUrl?: string;
  /** false: serve the API but do not run the engine loop (e.g. a read-only replica). */
  engine?: boolean;
  /** The clock the engine decides by (default Date.now); tests shift it, e.g. to just before a deployment window opens. */
  now?: () => number;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What the engine and the release actions share. */
export interface FlightingContext {
  storage: Storage;
  options: FlightingOptions;
  renderer: ReleaseRenderer;
  repo: ManifestRepo;
  clients: ClusterClients;
  /** Records journey events (kind release / promotion.step / commit / sync / health). */
  record(events: EventInput[]): Promise<unknown>;
  /** Name of the manifest repository as the journey knows it. */
  manifestRepository: string;
  log: Logger;
  now(): number;
}

export function createContext(storage: Storage, options: FlightingOptions, record: FlightingContext['record'], log: Logger, manifestRepository?: string): FlightingContext {
  const workDir = options.workDir ?? (storage.dialect === 'sqlite' ? join(storage.location, '..', 'flighting') : join(process.env.TMPDIR ?? '/tmp', `ringmaster-flighting-${process.pid}`));
  return {
    storage,
    options,
    renderer: new ReleaseRenderer(options.fleetRepo),
    repo: new ManifestRepo({ url: options.manifestRepo.url, branch: options.manifestRepo.branch, workDir: options.manifestRepo.workDir ?? join(workDir, 'manifests') }),
    clients: new ClusterClients(options.access),
    record,
    manifestRepository: manifestRepository ?? options.manifestRepo.url,
    log,
    now: options.now ?? (() => Date.now()),
  };
}
