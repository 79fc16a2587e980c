import type { KubeObject } from '@ringmaster/kube-common';

/** Health of one object, in Argo CD's vocabulary. */
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing';

/** A health verdict with the reason a person can act on. */
export interface Health {
  status: HealthStatus;
  reason: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

type Status = Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };

const num = (v: unknown, dflt = 0): number => (typeof v === 'number' ? v : dflt);
const cond = (s: Status | undefined, type: string): Condition | undefined => s?.conditions?.find((c) => c.type === type);
const h = (status: HealthStatus, reason: string): Health => ({ status, reason });
const why = (c: Condition): string => [c.reason, c.message].filter(Boolean).join(': ') || c.type;

/** Progressing when the controller has not yet seen the latest spec (status.observedGeneration < generation). */
function notObserved(obj: KubeObject, s: Status | undefined): Health | undefined {
  const gen = obj.metadata.generation;
  if (gen !== undefined && s?.observedGeneration !== undefined && s.observedGeneration < gen) {
    return h('Progressing', `waiting for the controller to observe generation ${gen} (observed ${s.observedGeneration})`);
  }
  return undefined;
}

function deployment(obj: KubeObject, s: Status | undefined): Health {
  const spec = obj.spec as { replicas?: number; paused?: boolean } | undefined;
  if (spec?.paused) return h('Progressing', 'rollout is paused');
  const pending = notObserved(obj, s);
  if (pending) return pending;
  const progressing = cond(s, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return h('Degraded', `rollout exceeded its progress deadline: ${progressing.message ?? ''}`.trim());
  const want = num(spec?.replicas, 1);
  const updated = num(s?.updatedReplicas);
  const total = num(s?.replicas);
  const available = num(s?.availableReplicas);
  if (updated < want) return h('Progressing', `${updated} of ${want} replicas updated`);
  if (total > updated) return h('Progressing', `${total - updated} old replicas pending termination`);
  if (available < updated) return h('Progressing', `${available} of ${updated} updated replicas available`);
  return h('Healthy', `${available} of ${want} replicas available`);
}

function statefulSet(obj: KubeObject, s: Status | undefined): Health {
  const spec = obj.spec as { replicas?: number; updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } } } | undefined;
  const pending = notObserved(obj, s);
  if (pending) return pending;
  const want = num(spec?.replicas, 1);
  const ready = num(s?.readyReplicas);
  if (ready < want) return h('Progressing', `${ready} of ${want} replicas ready`);
  if (spec?.updateStrategy?.type === 'OnDelete') return h('Healthy', `${ready} of ${want} replicas ready (OnDelete updates)`);
  const partition = num(spec?.updateStrategy?.rollingUpdate?.partition);
  const updated = num(s?.updatedReplicas);
  if (partition > 0) {
    if (updated < want - partition) return h('Progressing', `${updated} of ${want - partition} replicas above the partition updated`);
    return h('Healthy', `partitioned roll out complete: ${updated} updated`);
  }
  if (s?.updateRevision && s.currentRevision !== s.updateRevision) return h('Progressing', `${updated} of ${want} replicas at revision ${String(s.updateRevision)}`);
  return h('Healthy', `${ready} of ${want} replicas ready`);
}

function daemonSet(obj: KubeObject, s: Status | undefined): Health {
  const pending = notObserved(obj, s);
  if (pending) return pending;
  const desired = num(s?.desiredNumberScheduled);
  const updated = num(s?.updatedNumberScheduled);
  const available = num(s?.numberAvailable);
  if ((obj.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type === 'OnDelete') return h('Healthy', 'OnDelete updates');
  if (updated < desired) return h('Progressing', `${updated} of ${desired} pods updated`);
  if (available < desired) return h('Progressing', `${available} of ${desired} pods available`);
  return h('Healthy', `${available} of ${desired} pods available`);
}

function job(obj: KubeObject, s: Status | undefined): Health {
  const failed = cond(s, 'Failed');
  if (failed?.status === 'True') return h('Degraded', `job failed: ${why(failed)}`);
  const complete = cond(s, 'Complete') ?? cond(s, 'SuccessCriteriaMet');
  if (complete?.status === 'True') return h('Healthy', `job completed (${num(s?.succeeded)} succeeded)`);
  if ((obj.spec as { suspend?: boolean } | undefined)?.suspend) return h('Progressing', 'job is suspended');
  return h('Progressing', `job running (${num(s?.active)} active, ${num(s?.succeeded)} succeeded, ${num(s?.failed)} failed)`);
}

const badWaiting = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName', 'RunContainerError']);

function pod(_obj: KubeObject, s: Status | undefined): Health {
  const phase = s?.phase as string | undefined;
  const statuses = [...((s?.initContainerStatuses as unknown[]) ?? []), ...((s?.containerStatuses as unknown[]) ?? [])] as { name: string; state?: { waiting?: { reason?: string; message?: string } } }[];
  for (const c of statuses) {
    const w = c.state?.waiting;
    if (w?.reason && badWaiting.has(w.reason)) return h('Degraded', `container ${c.name}: ${w.reason}${w.message ? ': ' + w.message : ''}`);
  }
  if (phase === 'Succeeded') return h('Healthy', 'pod completed');
  if (phase === 'Failed') return h('Degraded', `pod failed${s?.reason ? ': ' + String(s.reason) : ''}${s?.message ? ': ' + String(s.message) : ''}`);
  if (phase === 'Running') {
    const ready = cond(s, 'Ready');
    return ready?.status === 'True' ? h('Healthy', 'pod running and ready') : h('Progressing', `pod running, not ready${ready ? ': ' + why(ready) : ''}`);
  }
  const scheduled = cond(s, 'PodScheduled');
  if (scheduled?.status === 'False') return h('Progressing', `pod not scheduled: ${why(scheduled)}`);
  return h('Progressing', `pod ${phase ?? 'pending'}`);
}

function loadBalanced(kind: string, s: Status | undefined): Health {
  const ingress = (s?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress ?? [];
  return ingress.length > 0 ? h('Healthy', `${kind} has a load-balancer address`) : h('Progressing', `waiting for a load-balancer address`);
}

function pvc(_obj: KubeObject, s: Status | undefined): Health {
  const phase = s?.phase as string | undefined;
  if (phase === 'Bound') return h('Healthy', 'claim is bound');
  if (phase === 'Lost') return h('Degraded', 'claim lost its volume');
  return h('Progressing', `claim is ${phase ?? 'Pending'}`);
}

const healthyTypes = ['Ready', 'Available', 'Healthy', 'Succeeded', 'Established'];
const failedTypes = ['Stalled', 'Failed', 'Degraded'];
const progressingTypes = ['Reconciling', 'Progressing'];
const failureWords = /fail|error|invalid|degrad|crash|backoff/i;

/**
 * Health from standard conditions (kstatus conventions): Stalled/Failed/Degraded=True → Degraded,
 * Reconciling=True → Progressing, Ready/Available/Healthy=True → Healthy (if the condition saw the
 * current generation), Ready=False → Degraded when its reason names a failure, else Progressing.
 */
function fromConditions(obj: KubeObject, s: Status | undefined): Health {
  const pending = notObserved(obj, s);
  if (pending) return pending;
  for (const t of failedTypes) {
    const c = cond(s, t);
    if (c?.status === 'True') return h('Degraded', `${t}: ${why(c)}`);
  }
  for (const t of progressingTypes) {
    const c = cond(s, t);
    // Deployment-style Progressing=True with reason NewReplicaSetAvailable means "done", so only Reconciling counts alone
    if (c?.status === 'True' && (t === 'Reconciling' || !cond(s, 'Ready'))) return h('Progressing', `${t}: ${why(c)}`);
  }
  for (const t of healthyTypes) {
    const c = cond(s, t);
    if (!c) continue;
    const gen = obj.metadata.generation;
    if (c.status === 'True') {
      if (gen !== undefined && c.observedGeneration !== undefined && c.observedGeneration < gen) return h('Progressing', `${t} was reported for generation ${c.observedGeneration}, not ${gen}`);
      return h('Healthy', `${t}${c.reason ? ': ' + c.reason : ''}`);
    }
    if (c.status === 'False') return failureWords.test(`${c.reason ?? ''} ${c.message ?? ''}`) ? h('Degraded', `${t}=False: ${why(c)}`) : h('Progressing', `${t}=False: ${why(c)}`);
    return h('Progressing', `${t}=Unknown${c.reason ? ': ' + c.reason : ''}`);
  }
  return h('Healthy', 'exists (no health conditions)');
}

/** Argo CD's own verdict on an Application (status.health.status), mapped onto our four states. */
function argoApplication(_obj: KubeObject, s: Status | undefined): Health {
  const health = s?.health as { status?: string; message?: string } | undefined;
  const msg = health?.message ? `: ${health.message}` : '';
  switch (health?.status) {
    case 'Healthy':
      return h('Healthy', `Argo CD reports Healthy${msg}`);
    case 'Degraded':
      return h('Degraded', `Argo CD reports Degraded${msg}`);
    case 'Missing':
      return h('Missing', `Argo CD reports Missing${msg}`);
    case undefined:
      return h('Progressing', 'Argo CD has not reported health yet');
    default:
      return h('Progressing', `Argo CD reports ${String(health?.status)}${msg}`);
  }
}

/**
 * Ringmaster's own AppCluster (packages/operator): its conditions decide, as `appClusterHealth` of
 * @ringmaster/operator says (kept here as four lines so the kube package does not depend on the
 * operator): paused → Progressing; spec not observed yet → Progressing; Degraded=True → Degraded;
 * Ready=True → Healthy; else Progressing.
 */
function appCluster(obj: KubeObject, s: Status | undefined): Health {
  if (cond(s, 'Paused')?.status === 'True') return h('Progressing', 'paused: ringmaster.dev/paused is "true"');
  const gen = obj.metadata.generation;
  if (s?.observedGeneration === undefined || (gen !== undefined && s.observedGeneration < gen)) {
    return h('Progressing', `waiting for the operator to observe generation ${gen ?? '?'}${s?.observedGeneration !== undefined ? ` (observed ${s.observedGeneration})` : ''}`);
  }
  const degraded = cond(s, 'Degraded');
  if (degraded?.status === 'True') return h('Degraded', degraded.message || degraded.reason || 'Degraded');
  const ready = cond(s, 'Ready');
  if (ready?.status === 'True') return h('Healthy', ready.message || 'Ready');
  return h('Progressing', ready?.message || 'not Ready yet');
}

const byKind: Record<string, (obj: KubeObject, s: Status | undefined) => Health> = {
  'apps/Deployment': deployment,
  'apps/StatefulSet': statefulSet,
  'apps/DaemonSet': daemonSet,
  'batch/Job': job,
  '/Pod': pod,
  '/Service': (obj, s) => ((obj.spec as { type?: string } | undefined)?.type === 'LoadBalancer' ? loadBalanced('Service', s) : h('Healthy', 'service exists')),
  '/PersistentVolumeClaim': pvc,
  'networking.k8s.io/Ingress': (_o, s) => loadBalanced('Ingress', s),
  'argoproj.io/Application': argoApplication,
  'ringmaster.dev/AppCluster': appCluster,
};

/** Assesses the health of a live object (undefined = Missing); pure, no API calls. */
export function assessHealth(obj: KubeObject | undefined): Health {
  if (!obj) return h('Missing', 'object does not exist');
  if (obj.metadata.deletionTimestamp) return h('Progressing', 'object is being deleted');
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.slice(0, obj.apiVersion.indexOf('/')) : '';
  const fn = byKind[`${group}/${obj.kind}`];
  const status = obj.status as Status | undefined;
  return fn ? fn(obj, status) : fromConditions(obj, status);
}

function imagesOf(spec: unknown): string[] {
  return (((spec as { containers?: { image?: string }[] } | undefined)?.containers) ?? []).map((c) => c.image ?? '');
}

/**
 * A workload's verdict from its Pods, for what its own status cannot say: Pods of its current
 * template (same container images) stuck in CrashLoopBackOff, ImagePullBackOff and the like make it
 * Degraded at once, instead of Progressing until a deadline (a StatefulSet has none). Undefined
 * when no such Pod is there. Pure: the caller lists the Pods (by the workload's selector).
 */
export function assessWorkloadPods(workload: KubeObject, pods: KubeObject[]): Health | undefined {
  const template = imagesOf((workload.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec);
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const images = imagesOf(p.spec);
    if (images.length !== template.length || images.some((img, i) => img !== template[i])) continue;
    const verdict = pod(p, p.status as Status | undefined);
    if (verdict.status === 'Degraded') return h('Degraded', `pod ${p.metadata.name}: ${verdict.reason}`);
  }
  return undefined;
}

/** The label selector string (`a=b,c in (d,e),!f`) of a workload's `spec.selector`, for listing its Pods. */
export function selectorString(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined): string | undefined {
  if (!selector) return undefined;
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : undefined;
}

/** The worst of several verdicts (Degraded > Missing > Progressing > Healthy), e.g. for an instance. */
export function worstHealth(items: Health[]): Health {
  const order: HealthStatus[] = ['Healthy', 'Progressing', 'Missing', 'Degraded'];
  return items.reduce<Health>((worst, x) => (order.indexOf(x.status) > order.indexOf(worst.status) ? x : worst), h('Healthy', 'nothing to assess'));
}
