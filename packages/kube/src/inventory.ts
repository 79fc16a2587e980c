import type { KubeClient } from './client.ts';
import { annotationOf, identityKey, LABELS, type KubeObject, type ObjectRef } from '@ringmaster/kube-common';

/** Where the record of what Ringmaster applied for one instance is kept: a ConfigMap. */
export interface InventoryRef {
  namespace: string;
  name: string;
}

/** The id written in the inventory annotation (ANNOTATIONS.inventory): `<namespace>/<name>` of the inventory ConfigMap. */
export function inventoryId(inv: InventoryRef): string {
  return `${inv.namespace}/${inv.name}`;
}

/** Reads the object references recorded in an inventory (empty when it does not exist yet). */
export async function readInventory(client: KubeClient, inv: InventoryRef): Promise<ObjectRef[]> {
  const cm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: inv.namespace, name: inv.name });
  const raw = (cm?.data as Record<string, string> | undefined)?.objects;
  if (!raw) return [];
  return JSON.parse(raw) as ObjectRef[];
}

/** Builds the inventory ConfigMap for a set of references (sorted, so equal sets make no write). */
export function inventoryObject(inv: InventoryRef, refs: ObjectRef[]): KubeObject {
  const unique = new Map(refs.map((r) => [identityKey(r), r]));
  const sorted = [...unique.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    name: r.name,
  }));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: inv.name,
      namespace: inv.namespace,
      labels: { [LABELS.managedBy]: 'ringmaster', [LABELS.inventory]: 'true' },
    },
    data: { objects: JSON.stringify(sorted, null, 1) },
  };
}

/** The references recorded earlier that are absent from the desired set: the prune candidates. */
export function pruneCandidates(previous: ObjectRef[], desired: ObjectRef[]): ObjectRef[] {
  const keep = new Set(desired.map(identityKey));
  return previous.filter((r) => !keep.has(identityKey(r)));
}

/**
 * True when a live object carries this inventory's annotation, i.e. Ringmaster applied it for this
 * inventory. Objects applied by versions before the `ringmaster.dev` key carry the legacy key: read
 * too (the next apply writes the new key, and server-side apply drops the old one it owned).
 */
export function ownedByInventory(live: KubeObject, inv: InventoryRef): boolean {
  return annotationOf(live, 'inventory') === inventoryId(inv);
}
