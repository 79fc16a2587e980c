import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { createOperationBody, dns, instanceQuery, approveOperationBody as approveBody, type OperationView } from '@ringmaster/api';
import { KubeApiError, listEventsFor, type KubeObject } from '@ringmaster/kube';
import {
  API_VERSION, RISKY_OPERATIONS, desiredNodes, isTerminal, previewOperation,
  type NodeOperation, type NodeOperationSpec,
} from '@ringmaster/operator';
import { ConflictError, InputError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import { paramOf, perRequest } from '../http/access.ts';
import type { Flighting } from '../flighting/routes.ts';
import { checkOperationFields } from './fields.ts';
import { appClusterOf, clientOf, kubeAnswer, readOp, resolveInstance, type InstanceTarget } from './cluster.ts';
import { OperationJourney } from './follow.ts';

// NodeOperations of an instance's AppCluster through the API: read from and written to the
// instance's cluster (the same ClusterClients delivery uses), role-checked against the instance's
// app and ring, audited, and recorded on the instance's journey (kind "operation").

const FIELD_MANAGER = 'ringmaster-server';
// The operations API's queries and bodies are the contract's (@ringmaster/api).
export { approveOperationBody as approveBody, createOperationBody, instanceQuery } from '@ringmaster/api';

const isRisky = (type: string) => (RISKY_OPERATIONS as readonly string[]).includes(type);

export function operationView(op: NodeOperation, events?: KubeObject[]): OperationView {
  return {
    name: op.metadata.name!, namespace: op.metadata.namespace!, appCluster: op.spec.appCluster, type: op.spec.type, node: op.spec.node ?? null,
    image: op.spec.image ?? null, traffic: op.spec.traffic ?? null, approved: op.spec.approved ?? null, waitsForApproval: isRisky(op.spec.type) && op.spec.approved !== true && !isTerminal(op),
    createdAt: op.metadata.creationTimestamp ?? null, createdBy: op.metadata.annotations?.['ringmaster.dev/created-by'] ?? null,
    phase: op.status?.phase ?? 'Pending', progress: op.status?.progress ?? null, reason: op.status?.reason ?? null, message: op.status?.message ?? null,
    startedAt: op.status?.startedAt ?? null, completedAt: op.status?.completedAt ?? null, steps: op.status?.steps ?? [],
    ...(events ? { events: events.map((e) => ({ reason: e.reason as string | undefined, type: e.type as string | undefined, note: e.note as string | undefined, at: (e.eventTime ?? (e.metadata as { creationTimestamp?: string }).creationTimestamp) as string | undefined })) } : {}),
  };
}

export interface OperationRouteDeps {
  flighting?: Flighting;
  /** How often followed operations are read for the journey, ms (default 1000). */
  followMs?: number;
}

/** What the operations routes share: flighting (where instances live) and the journey of the operations created here. */
interface Operations {
  f: Flighting | undefined;
  /** Present with flighting: every route resolves its instance first, which needs flighting. */
  journey: OperationJourney | undefined;
}

/** A route's instance as delivery last wrote it, from `:instance` and the cluster named in the query or body; resolved once per request. */
const instanceOf = (ops: Operations) => perRequest(async (req: FastifyRequest) => {
  const instance = parseInput(dns, paramOf(req, 'instance'), ['instance']);
  const q = parseInput(instanceQuery, req.query, ['query']);
  return { t: await resolveInstance(ops.f, instance, q.cluster), q };
});

/** The operations API under /api/v1 (inside the authenticated scope): role-checked against the instance's app and ring. */
export async function registerOperationRoutes(api: FastifyInstance, deps: OperationRouteDeps): Promise<void> {
  const f = deps.flighting;
  const ops: Operations = { f, journey: f ? new OperationJourney(f, deps.followMs) : undefined };
  api.addHook('onClose', async () => ops.journey?.close());
  registerReadRoutes(api, ops);
  registerCreateRoute(api, ops);
  registerApproveRoute(api, ops);
}

function registerReadRoutes(api: FastifyInstance, ops: Operations): void {
  const located = instanceOf(ops);
  const scope = async (req: FastifyRequest) => {
    const { t } = await located(req);
    return [{ app: t.app, ring: t.ring }];
  };

  api.get('/instances/:instance/nodes', { config: { role: 'viewer', scope } }, async (req) => {
    const { t, q } = await located(req);
    const client = clientOf(ops.f!, t);
    const app = await appClusterOf(t, client, q.appCluster);
    return {
      instance: t.instance, cluster: t.cluster, app: t.app, ring: t.ring, namespace: t.namespace, appCluster: app.metadata.name,
      generation: app.metadata.generation ?? null, observedGeneration: app.status?.observedGeneration ?? null, paused: app.metadata.annotations?.['ringmaster.dev/paused'] === 'true',
      conditions: app.status?.conditions ?? [], cache: app.status?.cache ?? null, activeOperation: app.status?.activeOperation ?? null,
      roles: app.status?.roles ?? [], nodes: app.status?.nodes ?? [],
    };
  });

  api.get('/instances/:instance/operations', { config: { role: 'viewer', scope } }, async (req) => {
    const { t, q } = await located(req);
    const client = clientOf(ops.f!, t);
    const list = await client.list(API_VERSION, 'NodeOperation', { namespace: t.namespace }).catch((e) => kubeAnswer(e, t.cluster));
    const found = (list.items as NodeOperation[]).filter((o) => !q.appCluster || o.spec.appCluster === q.appCluster)
      .sort((a, b) => String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')) || String(a.metadata.name).localeCompare(String(b.metadata.name)));
    return { instance: t.instance, cluster: t.cluster, namespace: t.namespace, operations: found.map((o) => operationView(o)) };
  });

  api.get('/instances/:instance/operations/:name', { config: { role: 'viewer', scope } }, async (req) => {
    const { t } = await located(req);
    const name = parseInput(dns, paramOf(req, 'name'), ['name']);
    const client = clientOf(ops.f!, t);
    const op = await readOp(t, client, name);
    const events = await listEventsFor(client, op).catch(() => []);
    return { instance: t.instance, cluster: t.cluster, ...operationView(op, events) };
  });
}

function registerCreateRoute(api: FastifyInstance, ops: Operations): void {
  const input = (req: FastifyRequest) => {
    const instance = parseInput(dns, paramOf(req, 'instance'), ['instance']);
    const body = parseInput(createOperationBody, req.body ?? {});
    req.audit = { target: `instance/${instance}`, details: { action: 'operation.create', type: body.type, node: body.node, dryRun: body.dryRun ?? false, reason: body.reason } };
    return { instance, body };
  };
  const target = perRequest(async (req: FastifyRequest) => {
    const { instance, body } = input(req);
    return { instance, body, t: await resolveInstance(ops.f, instance, body.cluster) };
  });
  // creating an operation is a deployer's act on the instance's app and ring; approving a risky one at creation an approver's
  const scope = async (req: FastifyRequest) => {
    const { body, t } = await target(req);
    return { role: body.approved && isRisky(body.type) ? 'approver' as const : 'deployer' as const, targets: [{ app: t.app, ring: t.ring }] };
  };
  api.post('/instances/:instance/operations', { config: { role: 'deployer', scope, audit: input } }, async (req, reply) => {
    const { instance, body, t } = await target(req);
    return createOperation(ops, req, reply, instance, body, t);
  });
}

async function createOperation(ops: Operations, req: FastifyRequest, reply: FastifyReply, instance: string, body: z.infer<typeof createOperationBody>, t: InstanceTarget) {
  const f = ops.f!;
  checkOperationFields(body);
  const client = clientOf(f, t);
  const app = await appClusterOf(t, client, body.appCluster);
  if (body.node) {
    const nodes = desiredNodes(app).map((n) => n.name);
    if (!nodes.includes(body.node)) throw new InputError(`node: AppCluster ${t.namespace}/${app.metadata.name} has no node "${body.node}" (nodes: ${nodes.join(', ')})`, 'node');
  }
  if (body.source) {
    const src = await client.get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: t.namespace, name: body.source.appCluster }).catch((e) => kubeAnswer(e, t.cluster));
    if (!src) throw new InputError(`source.appCluster: AppCluster ${t.namespace}/${body.source.appCluster} does not exist`, 'source.appCluster');
  }
  const spec: NodeOperationSpec = {
    appCluster: app.metadata.name!, type: body.type,
    ...(body.node ? { node: body.node } : {}), ...(body.image ? { image: body.image } : {}), ...(body.traffic ? { traffic: body.traffic } : {}),
    ...(body.source ? { source: body.source } : {}), ...(body.stepTimeoutSeconds ? { stepTimeoutSeconds: body.stepTimeoutSeconds } : {}),
    ...(isRisky(body.type) || body.approved !== undefined ? { approved: body.approved === true } : {}),
  };
  const name = body.name ?? `${spec.appCluster}-${spec.type.toLowerCase()}${spec.node ? `-${spec.node}` : ''}`.slice(0, 56).replace(/-+$/, '') + `-${randomBytes(3).toString('hex')}`;
  const op: NodeOperation = {
    apiVersion: API_VERSION, kind: 'NodeOperation',
    metadata: { name, namespace: t.namespace, annotations: { 'ringmaster.dev/created-by': req.principal!.name, ...(body.reason ? { 'ringmaster.dev/reason': body.reason } : {}) } },
    spec,
  };
  const created = (await client.create(op, { fieldManager: FIELD_MANAGER, dryRun: body.dryRun }).catch((e) => {
    if (e instanceof KubeApiError && e.status === 409) throw new ConflictError(`NodeOperation ${t.namespace}/${name} exists already on cluster ${t.cluster}`);
    return kubeAnswer(e, t.cluster);
  })) as NodeOperation;
  req.audit = { target: `instance/${instance}`, details: { action: 'operation.create', cluster: t.cluster, namespace: t.namespace, operation: name, spec, dryRun: body.dryRun ?? false, reason: body.reason } };
  if (body.dryRun) {
    const preview = previewOperation(op, app);
    return { dryRun: true, instance, cluster: t.cluster, operation: { name, namespace: t.namespace, spec }, waitsForApproval: isRisky(spec.type) && spec.approved !== true, ...preview };
  }
  await ops.journey!.record(t, created, 'created', req.principal!.name, body.reason ? { reason: body.reason } : {});
  if (spec.approved === true && isRisky(spec.type)) await ops.journey!.record(t, created, 'approved', req.principal!.name);
  ops.journey!.follow(t, created);
  return reply.status(201).send({ instance, cluster: t.cluster, ...operationView(created) });
}

function registerApproveRoute(api: FastifyInstance, ops: Operations): void {
  const input = (req: FastifyRequest) => {
    const instance = parseInput(dns, paramOf(req, 'instance'), ['instance']);
    const name = parseInput(dns, paramOf(req, 'name'), ['name']);
    const body = parseInput(approveBody, req.body ?? {});
    req.audit = { target: `instance/${instance}`, details: { action: 'operation.approve', operation: name, dryRun: body.dryRun ?? false, reason: body.reason } };
    return { instance, name, body };
  };
  const target = perRequest(async (req: FastifyRequest) => {
    const { instance, name, body } = input(req);
    return { instance, name, body, t: await resolveInstance(ops.f, instance, body.cluster) };
  });
  const scope = async (req: FastifyRequest) => {
    const { t } = await target(req);
    return [{ app: t.app, ring: t.ring }];
  };
  api.post('/instances/:instance/operations/:name/approve', { config: { role: 'approver', scope, audit: input } }, async (req) => {
    const { instance, name, body, t } = await target(req);
    const f = ops.f!;
    const client = clientOf(f, t);
    const op = await readOp(t, client, name);
    if (isTerminal(op)) throw new ConflictError(`NodeOperation ${t.namespace}/${name} is already ${op.status?.phase}; approving it changes nothing`);
    if (op.spec.approved === true) return { dryRun: body.dryRun === true, instance, cluster: t.cluster, changed: false, ...operationView(op) };
    const patched = (await client.mergePatch({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: t.namespace, name }, { spec: { approved: true } }, { fieldManager: FIELD_MANAGER, dryRun: body.dryRun })
      .catch((e) => kubeAnswer(e, t.cluster))) as NodeOperation;
    req.audit = { target: `instance/${instance}`, details: { action: 'operation.approve', cluster: t.cluster, namespace: t.namespace, operation: name, type: op.spec.type, node: op.spec.node, dryRun: body.dryRun ?? false, reason: body.reason } };
    if (!body.dryRun) {
      await ops.journey!.record(t, patched, 'approved', req.principal!.name, body.reason ? { reason: body.reason } : {});
      ops.journey!.follow(t, patched);
    }
    return { dryRun: body.dryRun === true, instance, cluster: t.cluster, changed: true, ...operationView(patched) };
  });
}
