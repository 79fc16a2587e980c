import { KubeApiError, KubeError, KubeObjectError, type KubeClient } from '@ringmaster/kube';
import { API_VERSION, type AppCluster, type NodeOperation } from '@ringmaster/operator';
import { ConflictError, InputError, NotFoundError, ServerError, UnavailableError } from '../errors.ts';
import type { Flighting } from '../flighting/routes.ts';

// An instance's cluster as the operations API reaches it: where delivery put the instance, the
// cluster's client, its AppClusters and NodeOperations, and the cluster's failures as answers.

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

/** A cluster's failure as an answer: unreachable → 503 with its reason; an API refusal → 422/409/404 with the API server's message. */
export function kubeAnswer(err: unknown, cluster: string): never {
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


/** Where a delivered instance lives (its cluster, app, ring, namespace and release), as delivery last wrote it. */
export async function resolveInstance(f: Flighting | undefined, instance: string, cluster: string | undefined): Promise<InstanceTarget> {
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
}

/** The client of the instance's cluster, as delivery reaches it. */
export function clientOf(f: Flighting, t: InstanceTarget): KubeClient {
  try {
    return f!.ctx.clients.forCluster(t.cluster, t.context);
  } catch (err) {
    throw new UnavailableError(`cluster ${t.cluster} has no usable kubeconfig: ${(err as Error).message}`);
  }
}

/** The instance's AppCluster: the one named, else the only one in its namespace, else the one named after the instance. */
export async function appClusterOf(t: InstanceTarget, client: KubeClient, named: string | undefined): Promise<AppCluster> {
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
}

/** A NodeOperation of the instance's namespace; 404 when it does not exist. */
export async function readOp(t: InstanceTarget, client: KubeClient, name: string): Promise<NodeOperation> {
  const o = await client.get({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: t.namespace, name }).catch((e) => kubeAnswer(e, t.cluster));
  if (!o) throw new NotFoundError(`NodeOperation ${t.namespace}/${name} does not exist on cluster ${t.cluster}`);
  return o as NodeOperation;
}
