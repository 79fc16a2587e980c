import { LABELS, requestRefresh, type KubeClient, type KubeObject } from '@ringmaster/kube';

export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';

export interface ArgoTarget {
  cluster: string;
  instance: string;
  /** Namespace the instance deploys into. */
  namespace: string;
  argocd: { namespace: string; project: string; destination: string };
  repoURL: string;
  branch: string;
  /**
   * The instance's drift policy (drift/policy.ts): true lets Argo CD undo live edits itself; false
   * leaves them alone (Argo CD still syncs new commits), so Ringmaster reports them and a person
   * adopts or heals.
   */
  selfHeal: boolean;
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
      labels: { [LABELS.managedBy]: 'ringmaster', [LABELS.cluster]: t.cluster, [LABELS.instance]: t.instance },
      // with server-side apply, Argo CD's default diff merges on the client with the schema it was
      // built with: fields the API server fills in (a StatefulSet's claim templates, argo-cd#11143)
      // or newer than that schema keep the Application OutOfSync. Its server-side diff asks the API server.
      annotations: { 'argocd.argoproj.io/compare-options': 'ServerSideDiff=true' },
    },
    spec: {
      project: t.argocd.project,
      source: { repoURL: t.repoURL, targetRevision: t.branch, path: `${t.cluster}/${t.instance}` },
      destination: { name: t.argocd.destination, namespace: t.namespace },
      syncPolicy: { automated: { prune: true, selfHeal: t.selfHeal }, syncOptions: ['ServerSideApply=true'] },
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

/**
 * Asks Argo CD to compare these Applications with the manifest repo now, instead of at its next
 * poll (three minutes by default): the annotation Argo CD's own `argocd app get --refresh` sets.
 * An unchanged Application makes no write on apply, so without this a new manifest commit waits
 * for the poll. Applications that do not exist (yet) are skipped.
 */
export async function refreshApplications(client: KubeClient, apps: Array<{ namespace: string; name: string }>): Promise<void> {
  for (const app of apps) await requestRefresh(client, app);
}

/** True when Argo CD's last verdict is about an older commit: a refresh may be lost (the controller restarted) or still queued. */
export function waitsForRevision(verdict: AppVerdict): boolean {
  return verdict.status === 'Progressing' && / is (synced at .*, waiting for|OutOfSync|not synced yet|Unknown)/.test(verdict.reason);
}

export interface AppVerdict {
  status: 'Healthy' | 'Progressing' | 'Degraded';
  reason: string;
}

/**
 * Argo CD's verdict on one Application for a manifest commit: Healthy once synced at that commit (or
 * a later one containing it) and healthy; Degraded when Argo CD says so about that commit — its
 * health once synced there, or a sync of it that failed. A Degraded health while Argo CD is still at
 * an older commit is about what ran before (the bad release a rollback is undoing), so it waits.
 */
export async function applicationVerdict(app: KubeObject | undefined, commit: string, includes: (revision: string, commit: string) => Promise<boolean>): Promise<AppVerdict> {
  if (!app) return { status: 'Progressing', reason: 'Application not found yet' };
  const status = (app.status ?? {}) as {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    operationState?: { phase?: string; message?: string; syncResult?: { revision?: string } };
    conditions?: { type?: string; message?: string }[];
  };
  const name = app.metadata.name;
  // Argo CD's own errors (ComparisonError, InvalidSpecError, SyncError, …): what a person needs to see when it waits
  const errors = (status.conditions ?? []).filter((c) => /Error$/.test(c.type ?? '')).map((c) => `${c.type}: ${(c.message ?? '').slice(0, 300)}`);
  const because = errors.length ? ` (${errors.join('; ')})` : '';
  const op = status.operationState;
  if ((op?.phase === 'Failed' || op?.phase === 'Error') && op.syncResult?.revision && (await includes(op.syncResult.revision, commit))) {
    return { status: 'Degraded', reason: `Application ${name}: sync ${op.phase}${op.message ? `: ${op.message}` : ''}` };
  }
  const revision = status.sync?.revision;
  if (status.sync?.status !== 'Synced' || !revision) return { status: 'Progressing', reason: `Application ${name} is ${status.sync?.status ?? 'not synced yet'}${because}` };
  if (!(await includes(revision, commit))) return { status: 'Progressing', reason: `Application ${name} is synced at ${revision.slice(0, 12)}, waiting for ${commit.slice(0, 12)}` };
  if (status.health?.status === 'Degraded') return { status: 'Degraded', reason: `Application ${name} is Degraded${status.health.message ? `: ${status.health.message}` : ''}` };
  if (status.health?.status !== 'Healthy') return { status: 'Progressing', reason: `Application ${name} health is ${status.health?.status ?? 'unknown'}` };
  return { status: 'Healthy', reason: `Application ${name} synced at ${revision.slice(0, 12)} and Healthy` };
}
