import { groupOf, type ObjectRef } from './object.ts';

/**
 * The identity of an object in a cluster: `group/Kind/namespace/name`. The version is left out, so
 * `apps/v1` and `apps/v1beta2` name the same object. Keys desired and live sets, inventories, drift.
 */
export function identityKey(ref: ObjectRef): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** The key of an object among objects of one kind (a watch's cache): `namespace/name`, or `name` when cluster-scoped. */
export function namespacedName(obj: { metadata: { namespace?: string; name?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : String(obj.metadata.name);
}

/** The file an object is written to inside its instance folder: `<kind>[.<group>]_[<namespace>_]<name>.yaml`, unique per identity. */
export function objectFileName(ref: ObjectRef): string {
  const group = groupOf(ref.apiVersion);
  return `${ref.kind.toLowerCase()}${group ? '.' + group : ''}_${ref.namespace ? ref.namespace + '_' : ''}${ref.name}.yaml`;
}
