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

/** The operator's status parts, as it writes them on AppClusters and NodeOperations. */
export const condition = z.object({
  type: z.string(), status: z.enum(['True', 'False', 'Unknown']), reason: z.string(), message: z.string(),
  lastTransitionTime: z.string().optional(), observedGeneration: z.number().optional(),
});
export const nodeStatus = z.object({
  name: z.string(), role: z.string(), phase: z.enum(['Waiting', 'Starting', 'Ready', 'Stopped', 'Failed', 'Terminating']), state: z.enum(['up', 'down']),
  traffic: z.enum(['serving', 'dark']), image: z.string(), pod: z.string().optional(), cacheVersion: z.string().optional(),
  updatePending: z.boolean().optional().describe('the node runs an older operator template and waits for its update policy'), message: z.string().optional(),
});
export type NodeStatus = z.infer<typeof nodeStatus>;
export const cacheStatus = z.object({ phase: z.enum(['Building', 'Ready']), build: z.number(), version: z.string().optional(), copiedFrom: z.string().optional() });
export const roleStatus = z.object({ name: z.string(), desired: z.number(), ready: z.number(), phase: z.enum(['Waiting', 'Starting', 'Ready']) });
export const operationStep = z.object({
  name: z.string(), phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed']), message: z.string().optional(), startedAt: z.string().optional(),
  finishedAt: z.string().optional(), data: z.record(z.string(), z.string()).optional(),
});
export const previewChange = z.object({
  step: z.string(), object: z.string().describe('the object that changes, e.g. `AppCluster tenants/shop`'), field: z.string().optional(),
  from: z.string().optional(), to: z.string().optional(), effect: z.string(),
});

/** A NodeOperation as the API shows it. */
export const operationView = z.object({
  name: z.string(), namespace: z.string(), appCluster: z.string(), type: z.enum(OPERATION_TYPES), node: z.string().nullable(),
  image: z.string().nullable(), traffic: z.enum(['serving', 'dark']).nullable(), approved: z.boolean().nullable(), waitsForApproval: z.boolean(),
  createdAt: z.string().nullable(), createdBy: z.string().nullable(),
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed']), progress: z.string().nullable(), reason: z.string().nullable(), message: z.string().nullable(),
  startedAt: z.string().nullable(), completedAt: z.string().nullable(), steps: z.array(operationStep),
  events: z.array(z.object({ reason: z.string().optional(), type: z.string().optional(), note: z.string().optional(), at: z.string().optional() })).optional(),
});
export type OperationView = z.infer<typeof operationView>;
const where = { instance: z.string(), cluster: z.string() };
export const operationAnswer = operationView.extend(where);
export const approvedOperation = operationView.extend({ ...where, dryRun: z.boolean(), changed: z.boolean() });
const operationSpec = z.object({
  appCluster: z.string(), type: z.enum(OPERATION_TYPES), node: z.string().optional(), image: z.string().optional(), traffic: z.enum(['serving', 'dark']).optional(),
  source: z.object({ appCluster: z.string() }).optional(), approved: z.boolean().optional(), stepTimeoutSeconds: z.number().optional(),
});
/** A dry run of a NodeOperation: which nodes and objects would change. */
export const operationPreview = z.object({
  dryRun: z.literal(true), ...where, operation: z.object({ name: z.string(), namespace: z.string(), spec: operationSpec }), waitsForApproval: z.boolean(),
  steps: z.array(z.string()), changes: z.array(previewChange),
});
export type OperationPreview = z.infer<typeof operationPreview>;
export const operationList = z.object({ instance: z.string(), cluster: z.string(), namespace: z.string(), operations: z.array(operationView) });

/** An instance's AppCluster: its nodes, roles, cache and conditions, as the operator reports them. */
export const instanceNodes = z.object({
  instance: z.string(), cluster: z.string(), app: z.string(), ring: z.string().nullable(), namespace: z.string(), appCluster: z.string(),
  generation: z.number().nullable(), observedGeneration: z.number().nullable(), paused: z.boolean(),
  conditions: z.array(condition), cache: cacheStatus.nullable(), activeOperation: z.string().nullable(),
  roles: z.array(roleStatus), nodes: z.array(nodeStatus),
});
export type InstanceNodes = z.infer<typeof instanceNodes>;
