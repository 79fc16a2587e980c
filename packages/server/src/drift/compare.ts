import { detectDrift, FIELD_MANAGER, groupOf, type KubeObject } from '@ringmaster/kube';
import type { DriftIgnoreRule } from '@ringmaster/fleet';
import { parseFieldPath, pointerCovers } from './paths.ts';

/** One drifted field of a live object, with who set the live value (managedFields). */
export interface DriftField {
  /** Field path in the kube package's notation; "" for a missing object. */
  path: string;
  desired: unknown;
  /** undefined when the field (or the object) is absent. */
  live: unknown;
  manager?: string;
  operation?: string;
  time?: string;
}

/**
 * Managers whose changes are the cluster doing its job, never drift: the controllers of the cluster
 * itself (an HPA scaling through kube-controller-manager, the scheduler binding pods).
 */
export const CONTROLLER_MANAGERS: readonly string[] = ['kube-controller-manager', 'kube-scheduler'];

/** Whether an ignore rule applies to an object (its group, kind, name and namespace selectors). Pure. */
export function ruleMatches(rule: DriftIgnoreRule, obj: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): boolean {
  if (rule.group !== undefined && rule.group !== groupOf(obj.apiVersion)) return false;
  if (rule.kind !== undefined && rule.kind !== obj.kind) return false;
  if (rule.name !== undefined && rule.name !== obj.metadata.name) return false;
  if (rule.namespace !== undefined && rule.namespace !== (obj.metadata.namespace ?? '')) return false;
  return true;
}

/** Options of objectDrift. */
export interface CompareOptions {
  /** The field manager that delivers the object (Ringmaster's, or Argo CD's); a field it still owns is what it applied. */
  deliveryManager?: string;
  /** Extra managers whose changes are not drift (beyond CONTROLLER_MANAGERS). */
  ignoreManagers?: readonly string[];
}

/**
 * The drift of one delivered object as server-side apply sees it: only fields the desired object
 * sets (server defaults are not drift); a field still owned by the delivering manager holds what it
 * applied (a normalised quantity is not drift); fields last set by the cluster's controllers or by
 * an ignored manager, and fields under an ignored JSON pointer, are left out. `missing` when the
 * object is gone. Pure.
 */
export function objectDrift(desired: KubeObject, live: KubeObject | undefined, rules: readonly DriftIgnoreRule[], opts: CompareOptions = {}): DriftField[] | 'missing' {
  if (!live) return 'missing';
  const own = opts.deliveryManager ?? FIELD_MANAGER;
  const matching = rules.filter((r) => ruleMatches(r, desired));
  const managers = new Set([...CONTROLLER_MANAGERS, ...(opts.ignoreManagers ?? []), ...matching.flatMap((r) => r.managers ?? [])]);
  const pointers = matching.flatMap((r) => r.jsonPointers ?? []);
  return detectDrift(desired, live).filter((d) => {
    if (d.manager === own) return false;
    if (d.manager !== undefined && managers.has(d.manager)) return false;
    if (pointers.length) {
      const segs = parseFieldPath(d.path);
      if (segs && pointers.some((p) => pointerCovers(p, live, segs) || pointerCovers(p, desired, segs))) return false;
    }
    return true;
  }).map((d) => ({ path: d.path, desired: d.desired, live: d.live, ...(d.manager ? { manager: d.manager } : {}), ...(d.operation ? { operation: d.operation } : {}), ...(d.time ? { time: d.time } : {}) }));
}
