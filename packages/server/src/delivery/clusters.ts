import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '@ringmaster/kube';

/** How Ringmaster reaches clusters. */
export interface ClusterAccessOptions {
  /** Default kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). */
  kubeconfig?: string;
  /** Per cluster: its kubeconfig file (then its current context unless one is named) and/or context; overrides the fleet's delivery.direct.context. */
  clusters?: Record<string, { kubeconfig?: string; context?: string }>;
  /** The management cluster where Argo CD Applications live (default: the default kubeconfig's current context). */
  management?: { kubeconfig?: string; context?: string };
}

/**
 * Resolves a cluster name to a client. An explicit entry (`clusters[name]`) wins: its kubeconfig,
 * with its context or that file's current context. Otherwise the default kubeconfig's context named
 * by the fleet (`delivery.direct.context`) or, without one, the context named after the cluster —
 * as `kubectl --context NAME` would. A context that is not there is an error naming the file and
 * the contexts it has: never a silent fallback to the current context, which would deliver one
 * cluster's objects to another.
 */
export class ClusterClients {
  private readonly clients = new Map<string, KubeClient>();
  private readonly texts = new Map<string, string>();
  constructor(private readonly opts: ClusterAccessOptions = {}) {}

  private defaultPath(): string {
    return this.opts.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
  }

  private text(path: string): string {
    let t = this.texts.get(path);
    if (t === undefined) {
      t = readFileSync(path, 'utf8');
      this.texts.set(path, t);
    }
    return t;
  }

  /** A client for `context` of the kubeconfig at `path` (its current context when undefined). */
  private client(path: string, context: string | undefined): KubeClient {
    const key = `${path}\0${context ?? ''}`;
    let c = this.clients.get(key);
    if (!c) {
      if (context !== undefined) {
        const names = KubeClient.fromString(this.text(path)).kubeConfig.getContexts().map((x) => x.name);
        if (!names.includes(context)) throw new Error(`kubeconfig ${path} has no context named "${context}" (it has: ${names.join(', ') || 'none'})`);
      }
      c = KubeClient.fromString(this.text(path), context);
      this.clients.set(key, c);
    }
    return c;
  }

  /** The client of a workload cluster (direct delivery). */
  forCluster(cluster: string, fleetContext?: string): KubeClient {
    // own entries only: a cluster named like an Object property ("constructor") must not find one
    const entry = this.opts.clusters && Object.hasOwn(this.opts.clusters, cluster) ? this.opts.clusters[cluster] : undefined;
    if (entry?.kubeconfig) return this.client(entry.kubeconfig, entry.context);
    return this.client(this.defaultPath(), entry?.context ?? fleetContext ?? cluster);
  }

  /** The client of the management cluster (Argo CD Applications): its entry, else the default kubeconfig's current context. */
  management(): KubeClient {
    return this.client(this.opts.management?.kubeconfig ?? this.defaultPath(), this.opts.management?.context);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
