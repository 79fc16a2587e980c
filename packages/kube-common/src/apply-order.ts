// Helm's install order, which most tooling follows: what others refer to goes first. Kinds not
// listed (custom resources above all) come last, after the controllers that serve them.
const KIND_ORDER = [
  'CustomResourceDefinition', 'Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodDisruptionBudget',
  'ServiceAccount', 'Secret', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim',
  'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'DaemonSet', 'Pod', 'ReplicationController',
  'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob', 'IngressClass', 'Ingress',
  'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
];
/** Ranks below this one (CRDs, Namespaces) go before everything else, whatever role an object has. */
const FOUNDATION = KIND_ORDER.indexOf('Namespace') + 1;

/** The place of a kind in the apply order: 0 for CustomResourceDefinitions, 1 for Namespaces, … custom resources last. */
export function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

/** Sorts objects into apply order by kind (CRDs, Namespaces, config, services, workloads, custom resources); stable. */
export function sortForApply<T extends { kind: string }>(objects: readonly T[]): T[] {
  return objects.map((o, i) => ({ o, i })).sort((a, b) => kindRank(a.o.kind) - kindRank(b.o.kind) || a.i - b.i).map((x) => x.o);
}

/**
 * The order an instance's objects are applied in: CRDs, then Namespaces, then by the app's roles
 * (objects without a role first), then by kind as `sortForApply` orders them, then by file name.
 */
export function applyOrder(roles: readonly string[]): (a: { kind: string; role?: string; file: string }, b: { kind: string; role?: string; file: string }) => number {
  const roleRank = (r?: string) => (r === undefined ? -1 : roles.indexOf(r));
  const layer = (kind: string) => Math.min(kindRank(kind), FOUNDATION);
  return (a, b) =>
    layer(a.kind) - layer(b.kind) ||
    roleRank(a.role) - roleRank(b.role) ||
    kindRank(a.kind) - kindRank(b.kind) ||
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
}
