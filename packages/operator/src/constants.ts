/** The API group and version of the operator's custom resources. */
export const GROUP = 'ringmaster.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The field manager of everything the operator writes (server-side apply, status, patches). */
export const OPERATOR_FIELD_MANAGER = 'ringmaster-operator';
/** The field manager of the per-node overrides an operation writes into an AppCluster's spec. */
export const OPERATION_FIELD_MANAGER = 'ringmaster-operation';
/** The Events' reporting controller. */
export const REPORTING_CONTROLLER = 'ringmaster.dev/operator';

/** Labels the operator puts on what it creates (defined once here). */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  appCluster: 'ringmaster.dev/app-cluster',
  role: 'ringmaster.dev/role',
  node: 'ringmaster.dev/node',
  traffic: 'ringmaster.dev/traffic',
  operation: 'ringmaster.dev/operation',
} as const;
export const MANAGED_BY = 'ringmaster-operator';

/** Annotations read or written by the operator. */
export const ANNOTATIONS = {
  /** "true" on an AppCluster: no change to its nodes, Services or cache; status still updates. */
  paused: 'ringmaster.dev/paused',
  /** The Ringmaster release that last reached this AppCluster (written by Ringmaster's delivery). */
  release: 'ringmaster.dev/release',
  /** On a Pod: hash of the parts that come from the AppCluster's spec. */
  specHash: 'ringmaster.dev/spec-hash',
  /** On a Pod: hash of the parts that come from the operator itself (its template revision). */
  operatorHash: 'ringmaster.dev/operator-hash',
  /** On a Pod: the cache version the node carries. */
  cacheVersion: 'ringmaster.dev/cache-version',
  /** On a builder Pod: the cache build it runs. */
  cacheBuild: 'ringmaster.dev/cache-build',
} as const;

/** Operation types (RISKY_OPERATIONS change what a node runs or the cache: they wait for `spec.approved: true`), as the API contract lists them. */
export { NODE_OPERATIONS, OPERATION_TYPES, RISKY_OPERATIONS, type OperationType } from '@ringmaster/api';
