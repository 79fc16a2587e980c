import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { KubeClient } from '@ringmaster/kube';

/** The workload clusters of the shared local fleet: the flighting fixture's clusters. */
export const SHARED_CLUSTERS = ['dev-1', 'canary-1', 'canary-2', 'prod-1', 'prod-2', 'prod-3'];
/** The clusters of the shared fleet that run a `ringmaster operator` process (direct and Argo CD mode). */
export const OPERATOR_CLUSTERS = ['dev-1', 'canary-1'];

/** What the fleet project's global setup hands to its test files. */
export interface SharedFleetInfo {
  /** One context per cluster, named after it (and `management`). */
  kubeconfigPath: string;
  clusters: { name: string; role: 'workload' | 'management'; kubeconfigPath: string; server: string }[];
  versions: { kubernetes: string; etcd: string; kwok: string; argocd?: string };
  argocdNamespace: string;
}

/** The shared local fleet, as seen from a *.fleet.test.ts file. */
export class SharedFleet {
  private readonly clients = new Map<string, KubeClient>();
  constructor(readonly info: SharedFleetInfo = inject('localFleet')) {
    if (!info) throw new Error('no shared local fleet: *.fleet.test.ts files run in the "fleet" Vitest project, whose global setup starts it');
  }

  get kubeconfigPath(): string {
    return this.info.kubeconfigPath;
  }

  /** The kubeconfig of one cluster alone. */
  kubeconfigOf(cluster: string): string {
    const c = this.info.clusters.find((x) => x.name === cluster);
    if (!c) throw new Error(`the shared fleet has no cluster ${cluster}`);
    return c.kubeconfigPath;
  }

  /** An admin client of one cluster (`management` is where Argo CD's Applications live). */
  client(cluster: string): KubeClient {
    let c = this.clients.get(cluster);
    if (!c) {
      c = KubeClient.fromString(readFileSync(this.kubeconfigOf(cluster), 'utf8'));
      this.clients.set(cluster, c);
    }
    return c;
  }

  /** How the server reaches the fleet: a context per cluster, Argo CD on `management`. */
  access(): { kubeconfig: string; management: { context: string } } {
    return { kubeconfig: this.kubeconfigPath, management: { context: 'management' } };
  }

  /** Removes what a test left: its Applications (so Argo CD stops syncing them) and its namespaces. */
  async cleanup(prefix: string): Promise<void> {
    const mgmt = this.client('management');
    const apps = await mgmt.list('argoproj.io/v1alpha1', 'Application', { namespace: this.info.argocdNamespace });
    for (const a of apps.items) {
      if (a.metadata.name!.includes(`--${prefix}-`)) await mgmt.delete({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: this.info.argocdNamespace, name: a.metadata.name! }).catch(() => undefined);
    }
    await Promise.all(SHARED_CLUSTERS.map(async (cluster) => {
      const client = this.client(cluster);
      const namespaces = await client.list('v1', 'Namespace').catch(() => ({ items: [] }));
      for (const ns of namespaces.items) {
        if (ns.metadata.name!.startsWith(`${prefix}-`)) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns.metadata.name! }).catch(() => undefined);
      }
    }));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
