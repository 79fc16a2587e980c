import type { DriftIgnoreRule, Fleet } from '@ringmaster/fleet';

/** Drift policy of one delivered instance, resolved from the fleet at its delivered revision. */
export interface DriftPolicy {
  selfHeal: boolean;
  ignore: DriftIgnoreRule[];
}

/**
 * The policy of an instance: its own selfHeal, else its app's, else its ring's; ignore rules of the
 * app and instance together. The detector judges drift by it, and Argo CD-mode delivery sets the
 * Application's `syncPolicy.automated.selfHeal` from it. Pure.
 */
export function driftPolicy(fleet: Fleet, instance: string): DriftPolicy {
  const inst = fleet.instances.get(instance);
  const app = inst ? fleet.apps.get(inst.app) : undefined;
  const cluster = inst ? fleet.clusters.get(inst.cluster) : undefined;
  const ring = cluster ? fleet.rings.find((r) => r.name === cluster.ring) : undefined;
  return {
    selfHeal: inst?.drift?.selfHeal ?? app?.drift?.selfHeal ?? ring?.drift?.selfHeal ?? false,
    ignore: [...(app?.drift?.ignore ?? []), ...(inst?.drift?.ignore ?? [])],
  };
}
