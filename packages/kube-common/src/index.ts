// The public door of @ringmaster/kube-common: Kubernetes basics as plain data, shared by fleet (which
// must not depend on a Kubernetes client), kube, operator and server.
export { groupOf } from './object.ts';
export type { KubeObject, NamedObject, ObjectMeta, ManagedFieldsEntry, ObjectRef } from './object.ts';
export { identityKey, namespacedName, objectFileName } from './keys.ts';
export { applyOrder, kindRank, sortForApply } from './apply-order.ts';
export { ANNOTATIONS, DOMAIN, LABELS, LEGACY_ANNOTATIONS, annotationOf } from './labels.ts';
