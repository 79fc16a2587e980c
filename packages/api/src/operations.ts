import { z } from 'zod';

/** NodeOperation types (the operator's CRD); risky ones wait for `spec.approved: true`. */
export const OPERATION_TYPES = ['rebuildCache', 'copyCache', 'restartNode', 'setTraffic', 'upgradeNode', 'stopNode', 'startNode'] as const;
export const RISKY_OPERATIONS = ['rebuildCache', 'copyCache', 'upgradeNode', 'stopNode'] as const;
export const NODE_OPERATIONS = ['restartNode', 'setTraffic', 'upgradeNode', 'stopNode', 'startNode'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const dns = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label');
/** An image reference: [host[:port]/]path[:tag][@sha256:digest], no spaces or shell characters. */
const imageRef = z.string().min(1).max(500)
  .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/, 'must be an image reference such as registry.local/appserver:1.2 (lowercase path, optional :tag and @sha256:digest)');

export const instanceQuery = z.strictObject({
  cluster: dns.optional().describe('the cluster, when the instance name is on several'),
  appCluster: dns.optional().describe('the AppCluster, when the instance namespace has several'),
});

export const createOperationBody = z.strictObject({
  type: z.enum(OPERATION_TYPES),
  node: dns.optional().describe('the node (<role>-<ordinal>) of a node operation'),
  image: imageRef.optional().describe('upgradeNode: the new image'),
  traffic: z.enum(['serving', 'dark']).optional().describe('setTraffic: serving or dark'),
  source: z.strictObject({ appCluster: dns }).optional().describe('copyCache: the AppCluster whose cache is copied'),
  approved: z.boolean().optional().describe('risky types: approve at creation (needs the approver role)'),
  name: dns.optional().describe('name of the NodeOperation (default: generated)'),
  stepTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  cluster: dns.optional(),
  appCluster: dns.optional(),
  dryRun: z.boolean().optional().describe('answer which nodes and objects would change; write nothing'),
  reason: z.string().max(2000).optional(),
});

export const approveOperationBody = z.strictObject({
  cluster: dns.optional(),
  dryRun: z.boolean().optional(),
  reason: z.string().max(2000).optional(),
});

/** A NodeOperation as the API shows it; progress, steps and events are the operator's own status. */
export const operationView = z.object({
  name: z.string().optional(), namespace: z.string().optional(), appCluster: z.string(), type: z.enum(OPERATION_TYPES), node: z.string().nullable(),
  image: z.string().nullable(), traffic: z.enum(['serving', 'dark']).nullable(), approved: z.boolean().nullable(), waitsForApproval: z.boolean(),
  createdAt: z.string().nullable(), createdBy: z.string().nullable(),
  phase: z.string(), progress: z.unknown(), reason: z.string().nullable(), message: z.string().nullable(),
  startedAt: z.string().nullable(), completedAt: z.string().nullable(), steps: z.array(z.unknown()),
  events: z.array(z.object({ reason: z.unknown(), type: z.unknown(), note: z.unknown(), at: z.unknown() })).optional(),
});
export type OperationView = z.infer<typeof operationView>;
const where = { instance: z.string(), cluster: z.string() };
export const operationAnswer = operationView.extend(where);
export const approvedOperation = operationView.extend({ ...where, dryRun: z.boolean(), changed: z.boolean() });
/** A dry run of a NodeOperation: which nodes and objects would change. */
export const operationPreview = z.looseObject({
  dryRun: z.literal(true), ...where, operation: z.object({ name: z.string(), namespace: z.string(), spec: z.looseObject({ appCluster: z.string(), type: z.enum(OPERATION_TYPES) }) }), waitsForApproval: z.boolean(),
});
export const operationList = z.object({ instance: z.string(), cluster: z.string(), namespace: z.string(), operations: z.array(operationView) });

/** An instance's AppCluster: its nodes, roles, cache and conditions, as the operator reports them. */
export const instanceNodes = z.object({
  instance: z.string(), cluster: z.string(), app: z.string(), ring: z.string().nullable(), namespace: z.string(), appCluster: z.string().optional(),
  generation: z.number().nullable(), observedGeneration: z.number().nullable(), paused: z.boolean(),
  conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })), cache: z.unknown(), activeOperation: z.unknown(),
  roles: z.array(z.unknown()), nodes: z.array(z.unknown()),
});
export type InstanceNodes = z.infer<typeof instanceNodes>;
