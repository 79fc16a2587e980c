import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { approveOperationBody as approveBody, createOperationBody, dns, instanceQuery, type OperationView } from '@ringmaster/api';
import { KubeApiError, KubeError, KubeObjectError, listEventsFor, type KubeClient, type KubeObject } from '@ringmaster/kube';
import {
  API_VERSION, RISKY_OPERATIONS, desiredNodes, isTerminal, previewOperation,
  type AppCluster, type NodeOperation, type NodeOperationSpec,
} from '@ringmaster/operator';
import { requireScopes, type Principal } from '../auth/roles.ts';
import { ConflictError, InputError, NotFoundError, ServerError, UnavailableError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import type { Flighting } from '../flighting/routes.ts';
import { eventInputSchema, type EventInput } from '../ingest/event-schema.ts';
import { checkOperationFields } from './fields.ts';

// NodeOperations of an instance's AppCluster through the API: read from and written to the
// instance's cluster (the same ClusterClients delivery uses), role-checked against the instance's
// app and ring, audited, and recorded on the instance's journey (kind "operation").

const FIELD_MANAGER = 'ringmaster-server';
// The operations API's queries and bodies are the contract's (@ringmaster/api).
export { approveOperationBody as approveBody, createOperationBody, instanceQuery } from '@ringmaster/api';
/** Where an instance lives, as delivery last wrote it. */
export interface InstanceTarget {
  instance: string;
  cluster: string;
  app: string;
  ring: string | null;
  namespace: string;
  release: string;
  context?: string;
}

const isRisky = (type: string) => (RISKY_OPERATIONS as readonly string[]).includes(type);

/** A cluster's failure as an answer: unreachable → 503 with its reason; an API refusal → 422/409/404 with the API server's message. */
function kubeAnswer(err: unknown, cluster: string): never {
  if (err instanceof ServerError) throw err;
  if (err instanceof KubeApiError) {
    if (err.status === 422 || err.status === 400) throw new InputError(`the API server of cluster ${cluster} refused the NodeOperation: ${err.message}`, 'spec', { reason: err.reason });
    if (err.status === 409) throw new ConflictError(`cluster ${cluster}: ${err.message}`);
    if (err.status === 404) throw new NotFoundError(`cluster ${cluster}: ${err.message} (are the operator's CRDs installed?)`);
    throw new UnavailableError(`cluster ${cluster} answered ${err.status}: ${err.message}`, { cause: err });
  }
  if (err instanceof KubeObjectError) throw new NotFoundError(`cluster ${cluster} does not serve AppClusters and NodeOperations (are the operator's CRDs installed?): ${err.message}`);
  if (err instanceof KubeError) throw new UnavailableError(`cluster ${cluster} cannot be reached: ${err.message}`, { cause: err });
  throw new UnavailableError(`cluster ${cluster} cannot be reached: ${(err as Error).message}`, { cause: err });
}

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

/** The operations API under /api/v1 (inside the authenticated scope). */
export async function registerOperationRoutes(api: FastifyInstance, deps: OperationRouteDeps): Promise<void> {
  const f = deps.flighting;
  const followers = new Map<string, { timer?: NodeJS.Timeout; phase: string }>();
  let closed = false;
  api.addHook('onClose', async () => {
    closed = true;
    for (const w of followers.values()) clearTimeout(w.timer);
    followers.clear();
  });

  const resolve = async (instance: string, cluster: string | undefined): Promise<InstanceTarget> => {
    if (!f) throw new NotFoundError('operations need flighting on this server (a fleet repo and a manifest repo, see docs/flighting.md): it knows where instances live');
    let q = f.ctx.storage.db.selectFrom('delivered').selectAll().where('instance', '=', instance);
    if (cluster) q = q.where('cluster', '=', cluster);
    const rows = await q.execute();
    if (!rows.length) throw new NotFoundError(`instance ${instance}${cluster ? ` on cluster ${cluster}` : ''} is not delivered by Ringmaster (no release reached it)`);
    if (rows.length > 1) throw new InputError(`instance ${instance} is on clusters ${rows.map((r) => r.cluster).join(', ')}: name one with "cluster"`, 'cluster');
    const row = rows[0]!;
    const step = await f.ctx.storage.db.selectFrom('release_steps').select(['ring', 'delivery']).where('release_id', '=', row.release_id).where('cluster', '=', row.cluster).executeTakeFirst();
    let context: string | undefined;
    try {
      const d = step ? (JSON.parse(step.delivery) as { mode?: string; context?: string }) : {};
      if (d.mode === 'direct' && typeof d.context === 'string') context = d.context;
    } catch {
      // an unreadable delivery record: the context named after the cluster
    }
    return { instance, cluster: row.cluster, app: row.app, ring: step?.ring ?? null, namespace: row.namespace, release: row.release_id, ...(context ? { context } : {}) };
  };

  const clientOf = (t: InstanceTarget): KubeClient => {
    try {
      return f!.ctx.clients.forCluster(t.cluster, t.context);
    } catch (err) {
      throw new UnavailableError(`cluster ${t.cluster} has no usable kubeconfig: ${(err as Error).message}`);
    }
  };

  /** The instance's AppCluster: the one named, else the only one in its namespace, else the one named after the instance. */
  const appClusterOf = async (t: InstanceTarget, client: KubeClient, named: string | undefined): Promise<AppCluster> => {
    if (named) {
      const a = await client.get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: t.namespace, name: named }).catch((e) => kubeAnswer(e, t.cluster));
      if (!a) throw new NotFoundError(`AppCluster ${t.namespace}/${named} does not exist on cluster ${t.cluster}`);
      return a as AppCluster;
    }
    const list = await client.list(API_VERSION, 'AppCluster', { namespace: t.namespace }).catch((e) => kubeAnswer(e, t.cluster));
    const items = list.items as AppCluster[];
    if (items.length === 1) return items[0]!;
    const byName = items.find((a) => a.metadata.name === t.instance);
    if (byName) return byName;
    if (!items.length) throw new NotFoundError(`instance ${t.instance} has no AppCluster: namespace ${t.namespace} of cluster ${t.cluster} holds none`);
    throw new InputError(`namespace ${t.namespace} of cluster ${t.cluster} holds several AppClusters (${items.map((a) => a.metadata.name).join(', ')}): name one with "appCluster"`, 'appCluster');
  };

  const readOp = async (t: InstanceTarget, client: KubeClient, name: string): Promise<NodeOperation> => {
    const o = await client.get({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: t.namespace, name }).catch((e) => kubeAnswer(e, t.cluster));
    if (!o) throw new NotFoundError(`NodeOperation ${t.namespace}/${name} does not exist on cluster ${t.cluster}`);
    return o as NodeOperation;
  };

  const journey = async (t: InstanceTarget, op: NodeOperation, status: string, by: string | undefined, extra: Record<string, unknown> = {}) => {
    const ev: EventInput = eventInputSchema.parse({
      kind: 'operation', status, cluster: t.cluster, instance: t.instance, app: t.app, ...(t.ring ? { ring: t.ring } : {}), release: t.release,
      ...(by ? { author: by } : {}),
      idempotencyKey: `operation/${t.cluster}/${t.namespace}/${op.metadata.name}/${op.metadata.uid ?? ''}/${status}`,
      message: `${op.spec.type}${op.spec.node ? ` ${op.spec.node}` : ''} on AppCluster ${op.spec.appCluster}: ${status}${op.status?.reason ? ` (${op.status.reason})` : ''}`,
      data: { operation: op.metadata.name, namespace: t.namespace, type: op.spec.type, ...(op.spec.node ? { node: op.spec.node } : {}), ...(op.spec.image ? { image: op.spec.image } : {}), ...(op.status?.reason ? { reason: op.status.reason } : {}), ...(op.status?.message ? { detail: op.status.message } : {}), ...extra },
    });
    await f!.ctx.record([ev]).catch((err: unknown) => f!.ctx.log.warn({ err: (err as Error).message }, 'operations: recording on the journey failed'));
  };

  /** Follows an operation created or approved here until it finishes, recording each phase it is seen in on the journey. */
  const follow = (t: InstanceTarget, op: NodeOperation) => {
    const key = `${t.cluster}\0${t.namespace}\0${op.metadata.name}`;
    if (followers.has(key) || closed) return;
    const w: { timer?: NodeJS.Timeout; phase: string } = { phase: op.status?.phase ?? 'created' };
    followers.set(key, w);
    const until = Date.now() + 6 * 3600_000;
    const tick = async () => {
      try {
        const client = clientOf(t);
        const cur = (await client.get({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: t.namespace, name: op.metadata.name! })) as NodeOperation | undefined;
        if (!cur || cur.metadata.uid !== op.metadata.uid) {
          followers.delete(key);
          return;
        }
        const phase = cur.status?.phase;
        if (phase && phase !== w.phase && phase !== 'Pending') {
          w.phase = phase;
          await journey(t, cur, phase, undefined, cur.status?.progress ? { progress: cur.status.progress } : {});
        }
        if (isTerminal(cur) || Date.now() > until) {
          followers.delete(key);
          return;
        }
      } catch {
        // the cluster is away for a moment: try again at the next tick
      }
      if (!closed) w.timer = setTimeout(() => void tick(), deps.followMs ?? 1000);
    };
    w.timer = setTimeout(() => void tick(), deps.followMs ?? 1000);
  };

  const authorize = (p: Principal, t: InstanceTarget, role: 'viewer' | 'deployer' | 'approver') => requireScopes(p, role, [{ app: t.app, ring: t.ring }]);

  api.get<{ Params: { instance: string } }>('/instances/:instance/nodes', async (req) => {
    const instance = parseInput(dns, req.params.instance, ['instance']);
    const q = parseInput(instanceQuery, req.query, ['query']);
    const t = await resolve(instance, q.cluster);
    authorize(req.principal!, t, 'viewer');
    const client = clientOf(t);
    const app = await appClusterOf(t, client, q.appCluster);
    return {
      instance, cluster: t.cluster, app: t.app, ring: t.ring, namespace: t.namespace, appCluster: app.metadata.name,
      generation: app.metadata.generation ?? null, observedGeneration: app.status?.observedGeneration ?? null, paused: app.metadata.annotations?.['ringmaster.dev/paused'] === 'true',
      conditions: app.status?.conditions ?? [], cache: app.status?.cache ?? null, activeOperation: app.status?.activeOperation ?? null,
      roles: app.status?.roles ?? [], nodes: app.status?.nodes ?? [],
    };
  });

  api.get<{ Params: { instance: string } }>('/instances/:instance/operations', async (req) => {
    const instance = parseInput(dns, req.params.instance, ['instance']);
    const q = parseInput(instanceQuery, req.query, ['query']);
    const t = await resolve(instance, q.cluster);
    authorize(req.principal!, t, 'viewer');
    const client = clientOf(t);
    const list = await client.list(API_VERSION, 'NodeOperation', { namespace: t.namespace }).catch((e) => kubeAnswer(e, t.cluster));
    const ops = (list.items as NodeOperation[]).filter((o) => !q.appCluster || o.spec.appCluster === q.appCluster)
      .sort((a, b) => String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')) || String(a.metadata.name).localeCompare(String(b.metadata.name)));
    return { instance, cluster: t.cluster, namespace: t.namespace, operations: ops.map((o) => operationView(o)) };
  });

  api.get<{ Params: { instance: string; name: string } }>('/instances/:instance/operations/:name', async (req) => {
    const instance = parseInput(dns, req.params.instance, ['instance']);
    const name = parseInput(dns, req.params.name, ['name']);
    const q = parseInput(instanceQuery, req.query, ['query']);
    const t = await resolve(instance, q.cluster);
    authorize(req.principal!, t, 'viewer');
    const client = clientOf(t);
    const op = await readOp(t, client, name);
    const events = await listEventsFor(client, op).catch(() => []);
    return { instance, cluster: t.cluster, ...operationView(op, events) };
  });

  api.post<{ Params: { instance: string } }>('/instances/:instance/operations', async (req, reply) => {
    const instance = parseInput(dns, req.params.instance, ['instance']);
    const body = parseInput(createOperationBody, req.body ?? {});
    req.audit = { target: `instance/${instance}`, details: { action: 'operation.create', type: body.type, node: body.node, dryRun: body.dryRun ?? false, reason: body.reason } };
    const t = await resolve(instance, body.cluster);
    const p = req.principal!;
    // creating an operation is a deployer's act on the instance's app and ring; approving a risky one at creation an approver's
    authorize(p, t, body.approved && isRisky(body.type) ? 'approver' : 'deployer');
    checkOperationFields(body);
    const client = clientOf(t);
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
      metadata: { name, namespace: t.namespace, annotations: { 'ringmaster.dev/created-by': p.name, ...(body.reason ? { 'ringmaster.dev/reason': body.reason } : {}) } },
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
    await journey(t, created, 'created', p.name, body.reason ? { reason: body.reason } : {});
    if (spec.approved === true && isRisky(spec.type)) await journey(t, created, 'approved', p.name);
    follow(t, created);
    return reply.status(201).send({ instance, cluster: t.cluster, ...operationView(created) });
  });

  api.post<{ Params: { instance: string; name: string } }>('/instances/:instance/operations/:name/approve', async (req) => {
    const instance = parseInput(dns, req.params.instance, ['instance']);
    const name = parseInput(dns, req.params.name, ['name']);
    const body = parseInput(approveBody, req.body ?? {});
    req.audit = { target: `instance/${instance}`, details: { action: 'operation.approve', operation: name, dryRun: body.dryRun ?? false, reason: body.reason } };
    const t = await resolve(instance, body.cluster);
    authorize(req.principal!, t, 'approver');
    const client = clientOf(t);
    const op = await readOp(t, client, name);
    if (isTerminal(op)) throw new ConflictError(`NodeOperation ${t.namespace}/${name} is already ${op.status?.phase}; approving it changes nothing`);
    if (op.spec.approved === true) return { dryRun: body.dryRun === true, instance, cluster: t.cluster, changed: false, ...operationView(op) };
    const patched = (await client.mergePatch({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: t.namespace, name }, { spec: { approved: true } }, { fieldManager: FIELD_MANAGER, dryRun: body.dryRun })
      .catch((e) => kubeAnswer(e, t.cluster))) as NodeOperation;
    req.audit = { target: `instance/${instance}`, details: { action: 'operation.approve', cluster: t.cluster, namespace: t.namespace, operation: name, type: op.spec.type, node: op.spec.node, dryRun: body.dryRun ?? false, reason: body.reason } };
    if (!body.dryRun) {
      await journey(t, patched, 'approved', req.principal!.name, body.reason ? { reason: body.reason } : {});
      follow(t, patched);
    }
    return { dryRun: body.dryRun === true, instance, cluster: t.cluster, changed: true, ...operationView(patched) };
  });
}
