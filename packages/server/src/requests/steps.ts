import { loadFleet } from '@ringmaster/fleet';
import { ANNOTATIONS, KubeApiError, type KubeClient, type KubeObject } from '@ringmaster/kube';
import { API_VERSION, type AppCluster, type NodeOperation } from '@ringmaster/operator';
import type { Principal } from '../auth/roles.ts';
import { ConflictError, InputError } from '../errors.ts';
import { approveRing, createRelease, getRelease } from '../flighting/releases.ts';
import type { RequestContext } from './context.ts';
import { branchTip, buildCommit, instanceRemoval, publishCommit, publishedCommit } from './fleet-commit.ts';
import type { RequestView } from './model.ts';
import type { StoredRequest } from './store.ts';

// What each step does. A step is called again and again until it is done: every call looks at
// the real state first (the fleet repo's branch, the release, the live objects, the DNS answer),
// so a step interrupted by a crash — after it acted, before that was saved — finds its own work
// and does not repeat it.

export const FIELD_MANAGER = 'ringmaster-request';
/** Argo CD's sync options that keep an object when its app prunes or deletes it; direct delivery honours them too. */
export const KEEP_OPTIONS = 'Prune=false,Delete=false';
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

export type StepOutcome =
  | { done: true; message: string; data?: Record<string, unknown> }
  | { wait: true; message?: string; data?: Record<string, unknown> };

/** A failure worth trying again (the DNS server or the ticketing system away for a moment). */
export class RetryableError extends Error {}

export interface StepRun {
  ctx: RequestContext;
  req: StoredRequest;
  data: Record<string, unknown>;
  /** Who the request acts as: the approver's scope over its app and ring, named after the request. */
  principal: Principal;
  log(message: string, level?: 'info' | 'warn' | 'error'): Promise<void>;
  link(links: Partial<RequestView['links']>): Promise<void>;
}

const done = (message: string, data?: Record<string, unknown>): StepOutcome => ({ done: true, message, ...(data ? { data } : {}) });
const wait = (message?: string, data?: Record<string, unknown>): StepOutcome => ({ wait: true, ...(message ? { message } : {}), ...(data ? { data } : {}) });

function clientOf(run: StepRun): KubeClient {
  return run.ctx.flighting.ctx.clients.forCluster(run.req.row.cluster, run.req.plan.context);
}

/** commit: the instance file (or its removal) on the fleet repo's branch, once. */
async function commit(run: StepRun): Promise<StepOutcome> {
  const repo = run.ctx.flighting.ctx.options.fleetRepo;
  const { plan, row } = run.req;
  const published = await publishedCommit(repo, plan.branch, row.id);
  if (published) {
    await run.link({ commit: published });
    return done(`fleet commit ${published.slice(0, 12)} on ${plan.branch}`, { commit: published });
  }
  const tip = await branchTip(repo, plan.branch);
  const fleet = await loadFleet(repo, tip);
  let change = plan.change!;
  if (row.kind === 'provision' && fleet.instances.has(row.instance)) throw new ConflictError(`instance ${row.instance} appeared in the fleet repo (${fleet.instances.get(row.instance)!.origin.file}) after this request was checked`);
  if (row.kind === 'decommission') {
    if (!fleet.instances.has(row.instance)) return done(`instance ${row.instance} is no longer in the fleet repo at ${tip.slice(0, 12)}: nothing to commit`, { commit: tip });
    change = instanceRemoval(fleet, row.instance);
  }
  const sha = await buildCommit(repo, tip, [change], plan.message!);
  try {
    await publishCommit(repo, plan.branch, tip, sha);
  } catch (err) {
    // the branch moved between the two calls: build again on the new tip at the next turn
    if (err instanceof ConflictError && /moved/.test(err.message)) return wait(err.message);
    throw err;
  }
  await run.log(`committed ${change.text === null ? 'the removal of ' : ''}${change.path} as ${sha.slice(0, 12)} on ${plan.branch} (parent ${tip.slice(0, 12)})`);
  const repository = run.ctx.fleetRepository;
  if (repository) {
    await run.ctx.flighting.ctx.record([{ kind: 'commit', repository, commit: sha, previousCommit: tip, branch: plan.branch, author: row.created_by, message: plan.message!.split('\n')[0], idempotencyKey: `request:${row.id}:commit` }])
      .catch((err: unknown) => run.log(`the commit could not be put on the journey: ${(err as Error).message}`, 'warn'));
  }
  await run.link({ commit: sha });
  return done(`fleet commit ${sha.slice(0, 12)} on ${plan.branch}`, { commit: sha });
}

/** release: one release limited to this instance; the request's approval stands for a ring that asks for one. */
async function release(run: StepRun): Promise<StepOutcome> {
  const f = run.ctx.flighting;
  const { row, links } = run.req;
  let id = typeof run.data.release === 'string' ? run.data.release : undefined;
  if (!id) {
    const marker = `request ${row.id}:`;
    const earlier = await f.ctx.storage.db.selectFrom('releases').select('id').where('message', 'like', `${marker}%`).executeTakeFirst();
    id = earlier?.id;
  }
  if (!id) {
    if (!links.commit) throw new InputError('the request made no fleet commit to release', 'commit');
    try {
      const rel = await createRelease(f.ctx, { revision: links.commit, instances: [row.instance], message: `request ${row.id}: ${row.kind} ${row.instance}` }, run.principal);
      id = rel.id;
    } catch (err) {
      // another release is running: this one waits its turn
      if (err instanceof ConflictError) return wait(`waiting: ${err.message}`);
      throw err;
    }
    f.engine.wake();
    await run.log(`release ${id} created for ${row.instance} alone (revision ${links.commit.slice(0, 12)})`);
    await run.link({ release: id });
  }
  const rel = await getRelease(f.ctx, id);
  // the ring of the instance's cluster (the only one with a cluster step), when its policy asks for approval
  const asks = rel.rings.find((r) => r.approval.required && !r.approval.approvedBy && ['pending', 'waiting_for_approval'].includes(r.state) && r.waves.some((w) => w.clusters.length > 0));
  if (asks && rel.state !== 'succeeded') {
    await approveRing(f.ctx, id, run.principal, asks.ring, `approved through request ${row.id}`).catch(() => undefined);
    await run.log(`ring ${asks.ring} of release ${id} approved by this request's approval`);
    f.engine.wake();
  }
  if (rel.state === 'succeeded') return done(`release ${id} succeeded`, { release: id });
  if (['failed', 'halted', 'aborted', 'rolled_back'].includes(rel.state)) throw new Error(`release ${id} ${rel.state.replace(/_/g, ' ')}${rel.reason ? `: ${rel.reason}` : ''}`);
  return wait(`release ${id} is ${rel.state.replace(/_/g, ' ')} (${rel.progress.succeeded}/${rel.progress.clusters} clusters)`, { release: id });
}

/** ready: the instance's AppCluster Ready on its cluster (an app without one: the release found it healthy). */
async function ready(run: StepRun): Promise<StepOutcome> {
  const { plan } = run.req;
  if (!plan.appCluster) return done('the release found the instance healthy');
  const app = (await clientOf(run).get({ apiVersion: API_VERSION, kind: 'AppCluster', namespace: plan.namespace, name: plan.appCluster })) as AppCluster | undefined;
  if (!app) return wait(`AppCluster ${plan.namespace}/${plan.appCluster} is not there yet`);
  const cond = app.status?.conditions?.find((c) => c.type === 'Ready');
  const roles = (app.status?.roles ?? []).map((r) => `${r.name} ${r.ready}/${r.desired}`).join(', ');
  if (cond?.status === 'True' && app.status?.observedGeneration === app.metadata.generation) return done(`AppCluster ${plan.namespace}/${plan.appCluster} is Ready (${roles})`);
  return wait(`AppCluster ${plan.namespace}/${plan.appCluster}: ${cond ? `${cond.reason ?? cond.status}${cond.message ? ` — ${cond.message}` : ''}` : 'no Ready condition yet'}${roles ? ` (${roles})` : ''}`);
}

/** The address a record points at: the Service's load-balancer address, else its cluster IP. */
function addressOf(svc: KubeObject): string | undefined {
  const s = svc as { spec?: { clusterIP?: string }; status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } };
  const lb = s.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip;
  if (lb) return lb;
  const ip = s.spec?.clusterIP;
  return ip && ip !== 'None' && /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip : undefined;
}

/** dns: the records of the instance written (provision) or removed (decommission), then read back from the server. */
async function dns(run: StepRun): Promise<StepOutcome> {
  const provider = run.ctx.dns;
  const { plan, row } = run.req;
  if (!plan.records.length) return done('no DNS record to write');
  if (!provider) throw new Error('this server has no DNS provider (RINGMASTER_DNS_SERVER): the records cannot be written');
  const wrote: string[] = [];
  for (const r of plan.records) {
    if (row.kind === 'decommission') {
      await provider.remove(r.fqdn, 'A').catch(toRetryable);
      const left = await provider.lookup(r.fqdn, 'A').catch(toRetryable);
      if (left.length) throw new RetryableError(`${r.fqdn} still answers ${left.join(', ')}`);
      await run.log(`removed A ${r.fqdn} (RFC 2136 update signed with TSIG; the server answers no record)`);
      wrote.push(`${r.fqdn} removed`);
      continue;
    }
    const svc = await clientOf(run).get({ apiVersion: 'v1', kind: 'Service', namespace: plan.namespace, name: r.service });
    const ip = svc ? addressOf(svc) : undefined;
    if (!ip) throw new RetryableError(`Service ${plan.namespace}/${r.service} ${svc ? 'has no address yet' : 'does not exist yet'}`);
    await provider.upsert({ name: r.fqdn, type: 'A', ttl: 300, values: [ip] }).catch(toRetryable);
    const got = await provider.lookup(r.fqdn, 'A').catch(toRetryable);
    if (!got.includes(ip)) throw new RetryableError(`${r.fqdn} answers ${got.join(', ') || 'nothing'} after the update, not ${ip}`);
    await run.log(`wrote A ${r.fqdn} → ${ip} (Service ${plan.namespace}/${r.service}; RFC 2136 update signed with TSIG, read back from the server)`);
    wrote.push(`${r.fqdn} → ${ip}`);
  }
  return done(wrote.join('; '));
}

function toRetryable(err: unknown): never {
  const e = err as Error & { retryable?: boolean };
  if (e.retryable === false) throw e;
  throw new RetryableError(e.message);
}

/** volumes: the instance's PersistentVolumeClaims kept (marked so that neither prune nor delete takes them) or deleted. */
async function volumes(run: StepRun): Promise<StepOutcome> {
  const { plan } = run.req;
  const client = clientOf(run);
  const pvcs = (await client.list('v1', 'PersistentVolumeClaim', { namespace: plan.namespace })).items;
  if (!pvcs.length) return done('the instance has no volume');
  for (const v of pvcs) {
    const ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: plan.namespace, name: v.metadata.name! };
    if (plan.keepVolumes) {
      const current = v.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION];
      const options = [...new Set([...(current ? current.split(',').map((o) => o.trim()).filter(Boolean) : []), ...KEEP_OPTIONS.split(',')])].join(',');
      await client.mergePatch(ref, { metadata: { annotations: { [SYNC_OPTIONS_ANNOTATION]: options, [ANNOTATIONS.keptByRequest]: run.req.row.id } } }, { fieldManager: FIELD_MANAGER });
      await run.log(`kept PersistentVolumeClaim ${plan.namespace}/${v.metadata.name} (${SYNC_OPTIONS_ANNOTATION}: ${options})`);
    } else {
      await client.delete(ref);
      await run.log(`deleted PersistentVolumeClaim ${plan.namespace}/${v.metadata.name} (keepVolumes: false)`);
    }
  }
  return done(`${plan.keepVolumes ? 'kept' : 'deleted'} ${pvcs.map((v) => v.metadata.name).join(', ')}`);
}

/** operation: the request's NodeOperation (approved by the request's approval), followed until it ends. */
async function operation(run: StepRun): Promise<StepOutcome> {
  const { plan, row } = run.req;
  const client = clientOf(run);
  const name = row.id;
  const ref = { apiVersion: API_VERSION, kind: 'NodeOperation', namespace: plan.namespace, name };
  let op = (await client.get(ref)) as NodeOperation | undefined;
  if (!op) {
    const obj: NodeOperation = {
      apiVersion: API_VERSION, kind: 'NodeOperation',
      metadata: { name, namespace: plan.namespace, annotations: { [ANNOTATIONS.createdBy]: `request:${row.id}`, [ANNOTATIONS.request]: row.id, ...(row.reason ? { [ANNOTATIONS.reason]: row.reason.slice(0, 500) } : {}) } },
      spec: plan.operation!,
    };
    op = (await client.create(obj, { fieldManager: FIELD_MANAGER }).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.status === 409) return client.get(ref);
      if (err instanceof KubeApiError && (err.status === 422 || err.status === 400)) throw new InputError(`the API server refused the NodeOperation: ${err.message}`, 'operation');
      throw err;
    })) as NodeOperation;
    await run.log(`created NodeOperation ${plan.namespace}/${name}: ${plan.operation!.type}${plan.operation!.node ? ` ${plan.operation!.node}` : ''} (approved by this request)`);
    await run.link({ operation: `${plan.namespace}/${name}` });
  }
  const phase = op.status?.phase ?? 'Pending';
  const steps = (op.status?.steps ?? []).map((s) => `${s.name} ${s.phase}`).join(', ');
  const seen = typeof run.data.seen === 'string' ? run.data.seen : '';
  if (steps && steps !== seen) await run.log(`NodeOperation ${name}: ${phase}${steps ? ` — ${steps}` : ''}`);
  if (phase === 'Succeeded') return done(`NodeOperation ${plan.namespace}/${name} succeeded${steps ? ` (${steps})` : ''}`);
  if (phase === 'Failed') throw new Error(`NodeOperation ${plan.namespace}/${name} failed: ${op.status?.reason ?? ''} ${op.status?.message ?? ''}`.trim());
  return wait(`NodeOperation ${name} is ${phase}${op.status?.progress ? ` (${op.status.progress})` : ''}`, { seen: steps });
}

/** ticket: the request's ticket updated (or closed by a decommission) through the ticketing system's webhook. */
async function ticket(run: StepRun): Promise<StepOutcome> {
  const client = run.ctx.tickets;
  const { row } = run.req;
  if (!client || !row.ticket) return done('no ticketing webhook configured');
  const action = row.kind === 'decommission' ? 'close' : 'update';
  const res = await client.call(
    { action, ticket: row.ticket, request: row.id, kind: row.kind, instance: row.instance, cluster: row.cluster, state: 'succeeded', message: `${row.kind} of ${row.instance} on ${row.cluster} done by Ringmaster request ${row.id}` },
    { idempotencyKey: `${row.id}/ticket/${action}`, log: (line) => void run.log(line) },
  ).catch(toRetryable);
  return done(`ticket ${row.ticket} ${action === 'close' ? 'closed' : 'updated'} (HTTP ${res.status}, ${res.attempts} attempt${res.attempts === 1 ? '' : 's'})`);
}

export const STEP_HANDLERS: Record<string, (run: StepRun) => Promise<StepOutcome>> = { commit, release, ready, dns, volumes, operation, ticket };
/** Steps whose failures are worth retrying with backoff (they talk to systems outside Kubernetes). */
export const OUTSIDE_STEPS = new Set(['dns', 'ticket']);
