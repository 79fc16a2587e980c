import type { Health } from '@ringmaster/kube';
import type { AppCluster } from './types.ts';

/**
 * The health of an AppCluster from its conditions (the rule Ringmaster's health uses): paused or
 * not yet observed → Progressing; Degraded=True → Degraded; Ready=True → Healthy; else Progressing.
 */
export function appClusterHealth(app: AppCluster): Health {
  const s = app.status;
  const cond = (type: string) => s?.conditions?.find((c) => c.type === type);
  if (cond('Paused')?.status === 'True') return { status: 'Progressing', reason: 'paused: ringmaster.dev/paused is "true"' };
  const gen = app.metadata.generation;
  if (!s || s.observedGeneration === undefined || (gen !== undefined && s.observedGeneration < gen)) {
    return { status: 'Progressing', reason: `waiting for the operator to observe generation ${gen ?? '?'}${s?.observedGeneration !== undefined ? ` (observed ${s.observedGeneration})` : ''}` };
  }
  const degraded = cond('Degraded');
  if (degraded?.status === 'True') return { status: 'Degraded', reason: degraded.message || degraded.reason };
  const ready = cond('Ready');
  if (ready?.status === 'True') return { status: 'Healthy', reason: ready.message || 'Ready' };
  return { status: 'Progressing', reason: ready?.message || 'not Ready yet' };
}
