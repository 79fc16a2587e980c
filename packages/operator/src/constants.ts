import { DOMAIN } from '@ringmaster/kube-common';

/** The API group and version of the operator's custom resources: Ringmaster's domain. */
export const GROUP = DOMAIN;
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The field manager of everything the operator writes (server-side apply, status, patches). */
export const OPERATOR_FIELD_MANAGER = 'ringmaster-operator';
/** The field manager of the per-node overrides an operation writes into an AppCluster's spec. */
export const OPERATION_FIELD_MANAGER = 'ringmaster-operation';
/** The Events' reporting controller. */
export const REPORTING_CONTROLLER = `${DOMAIN}/operator`;

/** Labels and annotations the operator reads or writes: Ringmaster's keys, defined once in @ringmaster/kube-common. */
export { ANNOTATIONS, LABELS } from '@ringmaster/kube-common';
export const MANAGED_BY = 'ringmaster-operator';

/** Operation types (RISKY_OPERATIONS change what a node runs or the cache: they wait for `spec.approved: true`), as the API contract lists them. */
export { NODE_OPERATIONS, OPERATION_TYPES, RISKY_OPERATIONS, type OperationType } from '@ringmaster/api';
