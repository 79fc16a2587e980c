import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '@ringmaster/kube';

/** How Ringmaster reaches clusters. */
export interface ClusterAccessOptions {
  /** Default kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). */
  kubeconfig?: string;
  /** Per cluster: its kubeconfig file and/or context; overrides the fleet's delivery.direct.context. */
  clusters?: Record<string, { kubeconfig?: string; context?: string }>;
  /** The management cluster where Argo CD Applications live (default: the default kubeconfig's current context). */
  management?: { kubeconfig?: string; context?: string };
}

/**
 * Resolves a cluster name to a client: an explicit entry, else the fleet's context in the default
 * kubeconfig, else the default kubeconfig's current context (one local API server for every cluster).
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

  private client(path: string, context?: string): KubeClient {
    const key = `${path}\0${context ?? ''}`;
    let c = this.clients.get(key);
    if (!c) {
      const probe = KubeClient.fromString(this.text(path));
      const known = context !== undefined && probe.kubeConfig.getContexts().some((x) => x.name === context);
      c = known ? KubeClient.fromString(this.text(path), context) : probe;
      this.clients.set(key, c);
    }
    return c;
  }

  /** The client of a workload cluster (direct delivery). */
  forCluster(cluster: string, fleetContext?: string): KubeClient {
    // own entries only: a cluster named like an Object property ("constructor") must not find one
    const entry = this.opts.clusters && Object.hasOwn(this.opts.clusters, cluster) ? this.opts.clusters[cluster] : undefined;
    return this.client(entry?.kubeconfig ?? this.defaultPath(), entry?.context ?? fleetContext);
  }

  /** The client of the management cluster (Argo CD Applications). */
  management(): KubeClient {
    return this.client(this.opts.management?.kubeconfig ?? this.defaultPath(), this.opts.management?.context);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
