/**
 * Ringmaster's label and annotation keys, defined once. Every key is under `ringmaster.dev`, the
 * operator's API group. Versions before this one wrote a few keys under `ringmaster.io`; those are
 * in LEGACY_ANNOTATIONS, read where live objects may still carry them and never written.
 */
export const DOMAIN = 'ringmaster.dev';

/** Labels Ringmaster puts on the objects it renders, applies or creates. */
export const LABELS = {
  /** `ringmaster` on what Ringmaster renders and applies, `ringmaster-operator` on what the operator creates. */
  managedBy: 'app.kubernetes.io/managed-by',
  /** The fleet app an object is rendered for. */
  app: 'ringmaster.dev/app',
  /** The fleet instance an object is rendered for. */
  instance: 'ringmaster.dev/instance',
  /** The fleet cluster (on Argo CD Applications and on the local fleet's nodes). */
  cluster: 'ringmaster.dev/cluster',
  /** Set by a manifest: places an object in one of the app's roles. */
  role: 'ringmaster.dev/role',
  /** `true` on an inventory ConfigMap. */
  inventory: 'ringmaster.dev/inventory',
  /** The operator's: the AppCluster, node, traffic state and NodeOperation an object belongs to. */
  appCluster: 'ringmaster.dev/app-cluster',
  node: 'ringmaster.dev/node',
  traffic: 'ringmaster.dev/traffic',
  operation: 'ringmaster.dev/operation',
} as const;

/** Annotations Ringmaster reads or writes. */
export const ANNOTATIONS = {
  /** On every object applied with an inventory: `<namespace>/<name>` of the inventory ConfigMap; prune deletes only what carries it. */
  inventory: 'ringmaster.dev/inventory',
  /** The Ringmaster release that last reached an AppCluster (written by delivery). */
  release: 'ringmaster.dev/release',
  /** "true" on an AppCluster: no change to its nodes, Services or cache; status still updates. */
  paused: 'ringmaster.dev/paused',
  /** On a Pod: hash of the parts that come from the AppCluster's spec. */
  specHash: 'ringmaster.dev/spec-hash',
  /** On a Pod: hash of the parts that come from the operator itself (its template revision). */
  operatorHash: 'ringmaster.dev/operator-hash',
  /** On a Pod: the cache version the node carries. */
  cacheVersion: 'ringmaster.dev/cache-version',
  /** On a builder Pod: the cache build it runs. */
  cacheBuild: 'ringmaster.dev/cache-build',
  /** On a NodeOperation: who asked for it (a person, or `request:<id>`). */
  createdBy: 'ringmaster.dev/created-by',
  /** On a NodeOperation: why it was asked for. */
  reason: 'ringmaster.dev/reason',
  /** On a NodeOperation: the request that created it. */
  request: 'ringmaster.dev/request',
  /** On a PersistentVolumeClaim a decommission request keeps: the request. */
  keptByRequest: 'ringmaster.dev/kept-by-request',
} as const;

/** Keys older versions wrote: read for compatibility with objects they applied, never written. */
export const LEGACY_ANNOTATIONS = {
  inventory: 'ringmaster.io/inventory',
} as const;

/** The value of an annotation under its current key, else under its legacy key. */
export function annotationOf(obj: { metadata: { annotations?: Record<string, string> } }, key: keyof typeof LEGACY_ANNOTATIONS): string | undefined {
  const annotations = obj.metadata.annotations;
  return annotations?.[ANNOTATIONS[key]] ?? annotations?.[LEGACY_ANNOTATIONS[key]];
}
