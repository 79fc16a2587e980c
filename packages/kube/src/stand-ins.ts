import type { KubeClient } from './client.ts';
import type { KubeObject, ObjectRef } from './object.ts';
import { patchStatus } from './status.ts';

/**
 * Stand-ins for the controllers a local kube-apiserver does not run: Argo CD's application
 * controller (Application sync and health status) and the kubelet/workload controllers (Deployment,
 * StatefulSet and DaemonSet status). They only WRITE STATUS, as those controllers would; nothing is
 * actually synced or started. For the demo and for tests — never for a real cluster.
 */
export interface StandInOptions {
  /** The manifest repo revision Argo CD would see now (its branch head), or undefined when unknown. */
  manifestHead(repoURL: string): string | undefined;
  /** Only Applications pointing at this repo are handled (default: every one managed by Ringmaster). */
  repoURL?: string;
  /** Only workloads in namespaces accepted here are handled (default: all). */
  namespaces?: (namespace: string) => boolean;
  /** An Application reported Degraded, with a message; undefined means Healthy. */
  applicationProblem?: (app: KubeObject, head: string) => string | undefined;
  /** Workloads whose status is left alone for now, as if their pods were still starting. */
  holdBack?: (workload: KubeObject) => boolean;
  /** A workload whose pods never become ready (reported as ProgressDeadlineExceeded / not ready). */
  workloadProblem?: (workload: KubeObject) => string | undefined;
  /** Called for every status written, to show what the stand-in did. */
  onAction?: (message: string) => void;
  intervalMs?: number;
}

const ARGO_MANAGER = 'argocd-application-controller';
const KUBE_MANAGER = 'kube-controller-manager';

function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name! };
}

function imagesOf(o: KubeObject): string[] {
  const spec = o.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return (spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
}

/** Images of a workload, for `workloadProblem` callbacks. */
export function workloadImages(o: KubeObject): string[] {
  return imagesOf(o);
}

/** Polls the API server and writes the status the missing controllers would write. */
export class StandInControllers {
  private stopped = false;
  private loop: Promise<void> | undefined;
  constructor(
    private readonly client: KubeClient,
    private readonly opts: StandInOptions,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.once();
        } catch {
          // objects vanish between list and patch, or the API server restarts: next round
        }
        await new Promise((r) => setTimeout(r, this.opts.intervalMs ?? 500));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** One round: Applications, then workloads. Writes nothing when every status is already right. */
  async once(): Promise<void> {
    await this.applications();
    await this.workloads();
  }

  private async applications(): Promise<void> {
    const apps = await this.client.list('argoproj.io/v1alpha1', 'Application', { labelSelector: 'app.kubernetes.io/managed-by=ringmaster' });
    for (const app of apps.items) {
      const source = (app.spec as { source?: { repoURL?: string } } | undefined)?.source;
      if (!source?.repoURL || (this.opts.repoURL && source.repoURL !== this.opts.repoURL)) continue;
      const head = this.opts.manifestHead(source.repoURL);
      if (!head) continue;
      const problem = this.opts.applicationProblem?.(app, head);
      const health = problem ? 'Degraded' : 'Healthy';
      const status = app.status as { sync?: { revision?: string }; health?: { status?: string } } | undefined;
      if (status?.sync?.revision === head && status.health?.status === health) continue;
      await patchStatus(
        this.client,
        refOf(app),
        { sync: { status: 'Synced', revision: head }, health: { status: health, ...(problem ? { message: problem } : {}) } },
        { fieldManager: ARGO_MANAGER },
      );
      this.opts.onAction?.(`Application ${app.metadata.name}: Synced at ${head.slice(0, 12)}, ${health}${problem ? ` (${problem})` : ''}`);
    }
  }

  private async workloads(): Promise<void> {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet']) {
      const list = await this.client.list('apps/v1', kind, { labelSelector: 'app.kubernetes.io/managed-by=ringmaster' });
      for (const o of list.items) {
        const ns = o.metadata.namespace ?? '';
        if (this.opts.namespaces && !this.opts.namespaces(ns)) continue;
        if (this.opts.holdBack?.(o)) continue;
        const gen = o.metadata.generation ?? 1;
        const s = (o.status ?? {}) as Record<string, unknown>;
        const problem = this.opts.workloadProblem?.(o);
        const next = problem ? failingStatus(kind, o, gen, problem) : readyStatus(kind, o, gen);
        if (contains(s, next)) continue;
        await patchStatus(this.client, refOf(o), withTimes(next), { fieldManager: KUBE_MANAGER });
        this.opts.onAction?.(`${kind} ${ns}/${o.metadata.name}: ${problem ? `not ready (${problem})` : 'all replicas ready'}`);
      }
    }
  }
}

/** True when `live` holds every field of `want` (the API server adds fields of its own, e.g. condition times). */
function contains(live: unknown, want: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(live) && live.length === want.length && want.every((w, i) => contains(live[i], w));
  if (want !== null && typeof want === 'object') {
    if (live === null || typeof live !== 'object') return false;
    return Object.entries(want).every(([k, v]) => contains((live as Record<string, unknown>)[k], v));
  }
  // Zero counts are omitted by the API server (omitempty).
  return live === want || (want === 0 && live === undefined);
}

/** Conditions carry transition times, as the real controllers write them. */
function withTimes(status: Record<string, unknown>): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const conditions = status.conditions as Record<string, unknown>[] | undefined;
  return conditions ? { ...status, conditions: conditions.map((c) => ({ ...c, lastTransitionTime: now, lastUpdateTime: now })) } : status;
}

function replicasOf(o: KubeObject): number {
  return (o.spec as { replicas?: number } | undefined)?.replicas ?? 1;
}

function readyStatus(kind: string, o: KubeObject, gen: number): Record<string, unknown> {
  if (kind === 'DaemonSet') {
    return { observedGeneration: gen, desiredNumberScheduled: 1, currentNumberScheduled: 1, updatedNumberScheduled: 1, numberReady: 1, numberAvailable: 1 };
  }
  const n = replicasOf(o);
  const base = { observedGeneration: gen, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n };
  if (kind === 'StatefulSet') return { ...base, currentReplicas: n, currentRevision: `${o.metadata.name}-${gen}`, updateRevision: `${o.metadata.name}-${gen}` };
  return { ...base, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] };
}

function failingStatus(kind: string, o: KubeObject, gen: number, problem: string): Record<string, unknown> {
  if (kind === 'DaemonSet') {
    return { observedGeneration: gen, desiredNumberScheduled: 1, currentNumberScheduled: 1, updatedNumberScheduled: 1, numberReady: 0, numberAvailable: 0, numberUnavailable: 1 };
  }
  const n = replicasOf(o);
  if (kind === 'StatefulSet') return { observedGeneration: gen, replicas: n, readyReplicas: 0, updatedReplicas: n, availableReplicas: 0, currentReplicas: n };
  return {
    observedGeneration: gen,
    replicas: n,
    updatedReplicas: n,
    readyReplicas: 0,
    availableReplicas: 0,
    unavailableReplicas: n,
    conditions: [
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' },
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: problem },
    ],
  };
}
