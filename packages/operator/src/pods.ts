import type { KubeObject } from '@ringmaster/kube';

interface PodStatusView {
  phase?: string;
  conditions?: { type: string; status: string }[];
  containerStatuses?: { name: string; ready?: boolean; state?: { waiting?: { reason?: string; message?: string } } }[];
}

const statusOf = (pod: KubeObject): PodStatusView => (pod.status ?? {}) as PodStatusView;

/** True when the Pod's Ready condition is True (and it is not being deleted). */
export function podReady(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && (statusOf(pod).conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const FAILING = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'InvalidImageName', 'RunContainerError']);

/** Why a Pod cannot start (a container crash-looping or its image not pullable), or undefined. */
export function podFailure(pod: KubeObject): string | undefined {
  const s = statusOf(pod);
  if (s.phase === 'Failed') return 'the Pod failed';
  for (const c of s.containerStatuses ?? []) {
    const w = c.state?.waiting;
    if (w?.reason && FAILING.has(w.reason)) return `container ${c.name}: ${w.reason}${w.message ? ` (${w.message})` : ''}`;
  }
  return undefined;
}

/** The image of a Pod's main (first) container. */
export function podImage(pod: KubeObject): string {
  return String(((pod.spec as { containers?: { image?: string }[] } | undefined)?.containers ?? [])[0]?.image ?? '');
}
