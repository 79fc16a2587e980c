import type { KubeClient, KubeObject } from '@ringmaster/kube';

export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';

export interface ArgoTarget {
  cluster: string;
  instance: string;
  /** Namespace the instance deploys into. */
  namespace: string;
  argocd: { namespace: string; project: string; destination: string };
  repoURL: string;
  branch: string;
}

/** Name of the Application of one instance on one cluster. */
export function applicationName(cluster: string, instance: string): string {
  return `${cluster}--${instance}`.slice(0, 253);
}

/** The Argo CD Application that points a cluster at its instance folder of the manifest repo. */
export function applicationFor(t: ArgoTarget): KubeObject {
  return {
    apiVersion: ARGO_API_VERSION,
    kind: 'Application',
    metadata: {
      name: applicationName(t.cluster, t.instance),
      namespace: t.argocd.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'ringmaster', 'ringmaster.dev/cluster': t.cluster, 'ringmaster.dev/instance': t.instance },
    },
    spec: {
      project: t.argocd.project,
      source: { repoURL: t.repoURL, targetRevision: t.branch, path: `${t.cluster}/${t.instance}` },
      destination: { name: t.argocd.destination, namespace: t.namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true'] },
    },
  };
}

/** Applies Applications (server-side apply; unchanged ones make no write), creating their namespace if missing. */
export async function applyApplications(client: KubeClient, apps: KubeObject[]): Promise<void> {
  const namespaces = new Set(apps.map((a) => a.metadata.namespace!));
  for (const ns of namespaces) {
    const live = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns });
    if (!live) await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { fieldManager: 'ringmaster' });
  }
  for (const app of apps) await client.apply(app, { fieldManager: 'ringmaster', force: true });
}

export interface AppVerdict {
  status: 'Healthy' | 'Progressing' | 'Degraded';
  reason: string;
}

/**
 * Argo CD's verdict on one Application for a manifest commit: Healthy once synced at that commit (or a
 * later one containing it) and healthy; Degraded when Argo CD says so (or the sync failed).
 */
export async function applicationVerdict(app: KubeObject | undefined, commit: string, includes: (revision: string, commit: string) => Promise<boolean>): Promise<AppVerdict> {
  if (!app) return { status: 'Progressing', reason: 'Application not found yet' };
  const status = (app.status ?? {}) as {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    operationState?: { phase?: string; message?: string };
  };
  const name = app.metadata.name;
  if (status.health?.status === 'Degraded') return { status: 'Degraded', reason: `Application ${name} is Degraded${status.health.message ? `: ${status.health.message}` : ''}` };
  if (status.operationState?.phase === 'Failed' || status.operationState?.phase === 'Error') {
    return { status: 'Degraded', reason: `Application ${name}: sync ${status.operationState.phase}${status.operationState.message ? `: ${status.operationState.message}` : ''}` };
  }
  const revision = status.sync?.revision;
  if (status.sync?.status !== 'Synced' || !revision) return { status: 'Progressing', reason: `Application ${name} is ${status.sync?.status ?? 'not synced yet'}` };
  if (!(await includes(revision, commit))) return { status: 'Progressing', reason: `Application ${name} is synced at ${revision.slice(0, 12)}, waiting for ${commit.slice(0, 12)}` };
  if (status.health?.status !== 'Healthy') return { status: 'Progressing', reason: `Application ${name} health is ${status.health?.status ?? 'unknown'}` };
  return { status: 'Healthy', reason: `Application ${name} synced at ${revision.slice(0, 12)} and Healthy` };
}
