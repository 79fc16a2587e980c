import {
  formatPlanText, loadFleet, planRevisions, Renderer, RingmasterError,
  type Cluster, type Fleet, type Instance, type NamedObject as FleetObject,
} from '@ringmaster/fleet';
import { API_VERSION, desiredNodes, previewOperation, type AppCluster, type NodeOperation, type NodeOperationSpec } from '@ringmaster/operator';
import type { KubeClient } from '@ringmaster/kube';
import { TERMINAL } from '../flighting/model.ts';
import { InputError } from '../errors.ts';
import { checkOperationFields } from '../operations/fields.ts';
import { clusterAsk } from './capacity.ts';
import { clusterClient, type RequestContext } from './context.ts';
import { branchTip, buildCommit, commitDiff, fleetBranch, instanceFileText, instanceRemoval, REQUEST_TRAILER, type FileChange } from './fleet-commit.ts';
import { REQUEST_TERMINAL, type CreateRequestInput, type DryRun, type PreflightCheck, type RequestState } from './model.ts';

// Preflight and dry run of a request, before anything is written: each check named with pass or
// fail and why, then exactly what the steps would do, in order. What the steps need later (the
// instance file, the DNS records, the NodeOperation) is fixed here as the request's plan.

/** What the steps execute, fixed when the request is created. */
export interface RequestPlan {
  /** The kubeconfig context of the instance's cluster (direct delivery names one). */
  context?: string;
  branch: string;
  base: string;
  namespace: string;
  /** provision and decommission: the fleet-repo change. */
  change?: FileChange;
  message?: string;
  /** provision: the AppCluster the instance renders, whose Ready condition the `ready` step waits for. */
  appCluster?: string;
  records: Array<{ fqdn: string; service: string }>;
  operation?: NodeOperationSpec;
  keepVolumes: boolean;
  volumes: string[];
}

export interface Assessment {
  target: { instance: string; app: string; ring: string | null; cluster: string; namespace: string };
  preflight: PreflightCheck[];
  dryRun: DryRun;
  plan: RequestPlan;
  ok: boolean;
}

interface Subject {
  ctx: RequestContext;
  input: CreateRequestInput;
  id: string;
  by: string;
  fleet: Fleet;
  branch: string;
  base: string;
  checks: PreflightCheck[];
}

const pass = (s: Subject, check: string, reason: string): void => void s.checks.push({ check, ok: true, reason });
const fail = (s: Subject, check: string, reason: string): void => void s.checks.push({ check, ok: false, reason });
const skip = (s: Subject, check: string, why: string): void => void s.checks.push({ check, ok: false, reason: `not checked: ${why}` });
const contextOf = (c: Cluster | undefined): { context?: string } => (c?.delivery.mode === 'direct' && c.delivery.direct?.context ? { context: c.delivery.direct.context } : {});
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Checks a request and previews it. Throws InputError only for a request that is malformed as such (a field missing for its kind). */
export async function assess(ctx: RequestContext, input: CreateRequestInput, id: string, by: string): Promise<Assessment> {
  requireFields(input);
  const repo = ctx.flighting.ctx.options.fleetRepo;
  const branch = await fleetBranch(repo);
  const base = await branchTip(repo, branch).catch(() => {
    throw new InputError(`the fleet repo has no branch ${branch}`, 'kind');
  });
  const fleet = await loadFleet(repo, base);
  const s: Subject = { ctx, input, id, by, fleet, branch, base, checks: [] };
  const a = input.kind === 'provision' ? await assessProvision(s) : input.kind === 'operate' ? await assessOperate(s) : await assessDecommission(s);
  return { ...a, preflight: s.checks, ok: s.checks.every((c) => c.ok) };
}

function requireFields(input: CreateRequestInput): void {
  const foreign = (field: keyof CreateRequestInput, kinds: string) => {
    if (input[field] !== undefined) throw new InputError(`${field}: only ${kinds} requests take it (kind is ${input.kind})`, field);
  };
  if (input.kind === 'provision') {
    if (!input.app) throw new InputError('app: is required to provision an instance', 'app');
    if (!input.cluster) throw new InputError('cluster: is required to provision an instance', 'cluster');
  } else {
    foreign('app', 'provision');
    foreign('cluster', 'provision');
    foreign('values', 'provision');
  }
  if (input.kind === 'operate') {
    if (!input.operation) throw new InputError('operation: is required for an operate request ({"type": …})', 'operation');
    try {
      checkOperationFields(input.operation);
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`operation.${err.message}`, `operation.${err.field ?? 'type'}`);
      throw err;
    }
  } else foreign('operation', 'operate');
  if (input.kind !== 'decommission') foreign('keepVolumes', 'decommission');
}

/** Another request on the same instance that has not ended, and a release that has not ended. */
async function conflicts(s: Subject, instance: string): Promise<string[]> {
  const db = s.ctx.flighting.ctx.storage.db;
  const out: string[] = [];
  const reqs = await db.selectFrom('requests').select(['id', 'kind', 'state']).where('instance', '=', instance).execute();
  for (const r of reqs) if (r.id !== s.id && !REQUEST_TERMINAL.has(r.state as RequestState)) out.push(`request ${r.id} (${r.kind}) is ${r.state.replace(/_/g, ' ')}`);
  const rel = await db.selectFrom('releases').select(['id', 'state']).where('state', 'not in', [...TERMINAL]).limit(5).execute();
  for (const r of rel) out.push(`release ${r.id} is ${r.state.replace(/_/g, ' ')}`);
  return out;
}

async function checkConflicts(s: Subject, instance: string, also: string[] = []): Promise<void> {
  const found = [...(await conflicts(s, instance)), ...also];
  if (found.length) fail(s, 'no conflicting release, operation or request', found.join('; '));
  else pass(s, 'no conflicting release, operation or request', 'no release is running and no other request or operation is active on this instance');
}

function objectsOf(objs: Array<{ object: FleetObject }>, action: DryRun['objects'][number]['action']): DryRun['objects'] {
  return objs.map(({ object: o }) => ({ action, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) }));
}

function commitMessage(s: Subject, subject: string): string {
  const i = s.input;
  return [subject, '', ...(i.reason ? [i.reason, ''] : []), `${REQUEST_TRAILER}: ${s.id}`, `Ringmaster-Requested-By: ${s.by}`, ...(i.ticket ? [`Ringmaster-Ticket: ${i.ticket}`] : [])].join('\n');
}

/** The commit a request would make, its diff and its plan: the dry run's fleet part. */
async function preview(s: Subject, change: FileChange, message: string, instance: string): Promise<{ commit: string; fleetDiff: string; planText: string | null; fleet?: Fleet; loadError?: string }> {
  const repo = s.ctx.flighting.ctx.options.fleetRepo;
  const commit = await buildCommit(repo, s.base, [change], message);
  const fleetDiff = await commitDiff(repo, s.base, commit);
  try {
    const fleet = await loadFleet(repo, commit);
    const plan = await planRevisions({ repo, from: s.base, to: commit, instances: [instance] });
    return { commit, fleetDiff, planText: formatPlanText(plan, { diffs: false }), fleet };
  } catch (err) {
    return { commit, fleetDiff, planText: null, loadError: errorText(err) };
  }
}

function recordsOf(s: Subject, app: string, instance: string): RequestPlan['records'] {
  const zone = s.ctx.dns?.zone;
  return (s.fleet.apps.get(app)?.dns ?? []).map((d) => ({ fqdn: `${d.prefix ? `${d.prefix}.` : ''}${instance}.${zone ?? '<zone>'}`, service: d.service }));
}

async function assessProvision(s: Subject): Promise<Omit<Assessment, 'preflight' | 'ok'>> {
  const { input, fleet } = s;
  const name = input.name;
  const app = fleet.apps.get(input.app!);
  const cluster = fleet.clusters.get(input.cluster!);
  if (app) pass(s, 'app exists', `app ${app.name} is declared in ${app.origin.file}`);
  else fail(s, 'app exists', `the fleet has no app "${input.app}" (apps: ${[...fleet.apps.keys()].sort().join(', ')})`);
  if (cluster) pass(s, 'cluster exists', `cluster ${cluster.name} is in ring ${cluster.ring}, region ${cluster.region}`);
  else fail(s, 'cluster exists', `the fleet has no cluster "${input.cluster}" (clusters: ${[...fleet.clusters.keys()].sort().join(', ')})`);
  const file = `instances/${name}.yaml`;
  const taken = fleet.instances.get(name);
  if (taken) fail(s, 'name is free', `instance ${name} exists already (${taken.origin.file}, app ${taken.app} on cluster ${taken.cluster})`);
  else if (await fileExists(s, file)) fail(s, 'name is free', `the fleet repo holds ${file} already`);
  else pass(s, 'name is free', `no instance is named ${name} and ${file} is free`);

  const change: FileChange = { path: file, text: instanceFileText({ name, app: input.app!, cluster: input.cluster!, values: input.values }, { id: s.id, ticket: input.ticket }) };
  const message = commitMessage(s, `Provision ${name} (${input.app}) on ${input.cluster}`);
  const p = await preview(s, change, message, name);
  let objects: FleetObject[] = [];
  let namespace = name;
  if (!app || !cluster || taken) skip(s, 'values are valid', 'the app, the cluster or the name is wrong');
  else if (p.loadError || !p.fleet) fail(s, 'values are valid', p.loadError ?? 'the fleet does not load');
  else {
    try {
      const r = await new Renderer(p.fleet).render(name);
      objects = r.objects.map((o) => o.object);
      namespace = r.namespace;
      pass(s, 'values are valid', `the instance renders: ${objects.length} objects in namespace ${namespace}`);
    } catch (err) {
      fail(s, 'values are valid', err instanceof RingmasterError ? err.message : errorText(err));
    }
  }
  if (!app || !cluster) {
    skip(s, 'cluster labels fit', 'the app or the cluster does not exist');
    skip(s, 'cluster capacity fits', 'the app or the cluster does not exist');
  } else {
    checkLabels(s, app.placement?.clusterLabels ?? {}, cluster.labels ?? {}, cluster.name);
    await checkCapacity(s, objects, cluster, app.placement?.maxInstancesPerCluster, app.name);
  }
  const records = app ? recordsOf(s, app.name, name) : [];
  await checkDnsFree(s, records);
  await checkConflicts(s, name);
  const appCluster = objects.find((o) => o.kind === 'AppCluster')?.metadata.name;
  const plan: RequestPlan = { ...contextOf(cluster), branch: s.branch, base: s.base, namespace, change, message, ...(appCluster ? { appCluster } : {}), records, keepVolumes: true, volumes: [] };
  const outside = [...records.map((r) => ({ step: 'dns', summary: `A ${r.fqdn} → the address of Service ${namespace}/${r.service}` })), ...ticketSteps(s, 'update')];
  const order = [`commit ${file} to ${s.branch}`, `release ${name} to ${input.cluster} alone`, appCluster ? `wait until AppCluster ${namespace}/${appCluster} is Ready` : 'wait until the instance is healthy', ...outside.map((o) => o.summary)];
  return {
    target: { instance: name, app: input.app!, ring: cluster?.ring ?? null, cluster: input.cluster!, namespace },
    dryRun: { order, fleetDiff: p.fleetDiff, planText: p.planText, objects: objects.map((o) => ({ action: 'create' as const, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) })), operations: [], outside },
    plan,
  };
}

async function fileExists(s: Subject, file: string): Promise<boolean> {
  return s.fleet.source.files().includes(file);
}

function checkLabels(s: Subject, want: Record<string, string>, have: Record<string, string>, cluster: string): void {
  const missing = Object.entries(want).filter(([k, v]) => have[k] !== v);
  if (missing.length) fail(s, 'cluster labels fit', `cluster ${cluster} lacks ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}${Object.keys(have).length ? ` (it has ${Object.entries(have).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`);
  else pass(s, 'cluster labels fit', Object.keys(want).length ? `cluster ${cluster} has ${Object.entries(want).map(([k, v]) => `${k}=${v}`).join(', ')}` : 'the app asks for no cluster labels');
}

async function checkCapacity(s: Subject, objects: FleetObject[], c: Cluster, max: number | undefined, app: string): Promise<void> {
  const cluster = c.name;
  const count = [...s.fleet.instances.values()].filter((i: Instance) => i.app === app && i.cluster === cluster).length;
  if (max !== undefined && count >= max) {
    fail(s, 'cluster capacity fits', `cluster ${cluster} holds ${count} instances of ${app}, the most the app allows (placement.maxInstancesPerCluster ${max})`);
    return;
  }
  const r = await Promise.resolve().then(() => clusterAsk(objects, clusterClient(s.ctx, c))).catch((err: unknown) => ({ error: errorText(err) }));
  if ('error' in r) fail(s, 'cluster capacity fits', `cluster ${cluster} cannot be asked for its capacity: ${r.error}`);
  else if (!r.fits) fail(s, 'cluster capacity fits', r.reason);
  else pass(s, 'cluster capacity fits', `${r.reason}${max !== undefined ? `; ${count} of at most ${max} instances of ${app}` : ''}`);
}

async function checkDnsFree(s: Subject, records: RequestPlan['records']): Promise<void> {
  if (!records.length) return pass(s, 'DNS name is free', 'the app declares no DNS record');
  const dns = s.ctx.dns;
  if (!dns) return fail(s, 'DNS name is free', `the app declares DNS records but this server has no DNS provider (set RINGMASTER_DNS_SERVER and its TSIG key, see docs/requests.md)`);
  const taken: string[] = [];
  try {
    for (const r of records) {
      const values = await dns.lookup(r.fqdn, 'A');
      if (values.length) taken.push(`${r.fqdn} answers ${values.join(', ')}`);
    }
  } catch (err) {
    return fail(s, 'DNS name is free', `the DNS server cannot be asked: ${errorText(err)}`);
  }
  if (taken.length) fail(s, 'DNS name is free', taken.join('; '));
  else pass(s, 'DNS name is free', `${records.map((r) => r.fqdn).join(', ')} ${records.length === 1 ? 'has' : 'have'} no record in zone ${dns.zone}`);
}

function ticketSteps(s: Subject, action: 'update' | 'close'): DryRun['outside'] {
  if (!s.ctx.tickets || !s.input.ticket) return [];
  return [{ step: 'ticket', summary: `${action} ticket ${s.input.ticket} through the ticket webhook (with an idempotency key)` }];
}

/** The instance as the fleet and delivery know it (operate, decommission). */
async function existing(s: Subject): Promise<{ inst: Instance; namespace: string; release: string } | undefined> {
  const name = s.input.name;
  const inst = s.fleet.instances.get(name);
  if (!inst) {
    fail(s, 'instance exists', `the fleet has no instance "${name}"`);
    return undefined;
  }
  const row = await s.ctx.flighting.ctx.storage.db.selectFrom('delivered').selectAll().where('instance', '=', name).where('cluster', '=', inst.cluster).executeTakeFirst();
  if (!row) {
    fail(s, 'instance exists', `instance ${name} is in ${inst.origin.file} but no release delivered it to cluster ${inst.cluster} yet`);
    return undefined;
  }
  pass(s, 'instance exists', `instance ${name} (app ${inst.app}) runs on cluster ${inst.cluster}, delivered by release ${row.release_id}`);
  return { inst, namespace: row.namespace, release: row.release_id };
}

async function liveAppCluster(client: KubeClient, namespace: string, instance: string): Promise<AppCluster | undefined> {
  const items = (await client.list(API_VERSION, 'AppCluster', { namespace })).items as AppCluster[];
  return items.length === 1 ? items[0] : items.find((a) => a.metadata.name === instance);
}

async function assessOperate(s: Subject): Promise<Omit<Assessment, 'preflight' | 'ok'>> {
  const op = s.input.operation!;
  const found = await existing(s);
  const inst = found?.inst;
  const cluster = inst ? s.fleet.clusters.get(inst.cluster) : undefined;
  const namespace = found?.namespace ?? s.input.name;
  let app: AppCluster | undefined;
  if (found && cluster) {
    app = await Promise.resolve().then(() => liveAppCluster(clusterClient(s.ctx, cluster), namespace, s.input.name)).catch(() => undefined);
  }
  if (!found) skip(s, 'node exists', 'the instance does not exist');
  else if (!app) fail(s, 'node exists', `namespace ${namespace} of cluster ${inst!.cluster} holds no AppCluster of instance ${s.input.name}`);
  else if (!op.node) pass(s, 'node exists', `${op.type} acts on the whole AppCluster ${app.metadata.name}`);
  else {
    const nodes = desiredNodes(app).map((n) => n.name);
    if (nodes.includes(op.node)) pass(s, 'node exists', `AppCluster ${namespace}/${app.metadata.name} has node ${op.node}`);
    else fail(s, 'node exists', `AppCluster ${namespace}/${app.metadata.name} has no node "${op.node}" (nodes: ${nodes.join(', ')})`);
  }
  if (!app) skip(s, 'target is healthy', 'no AppCluster to look at');
  else {
    const ready = app.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' && app.status?.observedGeneration === app.metadata.generation) pass(s, 'target is healthy', `AppCluster ${app.metadata.name} is Ready (${ready.reason ?? 'Ready'})`);
    else fail(s, 'target is healthy', `AppCluster ${app.metadata.name} is not Ready: ${ready ? `${ready.reason ?? ready.status}${ready.message ? ` — ${ready.message}` : ''}` : 'it reports no Ready condition yet'}`);
  }
  await checkConflicts(s, s.input.name, app?.status?.activeOperation ? [`NodeOperation ${app.status.activeOperation} is running on AppCluster ${app.metadata.name}`] : []);
  const spec: NodeOperationSpec = {
    appCluster: app?.metadata.name ?? s.input.name, type: op.type, approved: true,
    ...(op.node ? { node: op.node } : {}), ...(op.image ? { image: op.image } : {}), ...(op.traffic ? { traffic: op.traffic } : {}), ...(op.source ? { source: op.source } : {}),
  };
  const operations: DryRun['operations'] = [];
  const objects: DryRun['objects'] = [];
  if (app) {
    const pv = previewOperation({ apiVersion: API_VERSION, kind: 'NodeOperation', metadata: { name: `req-${s.id}`, namespace }, spec } as NodeOperation, app);
    operations.push({ type: op.type, ...(op.node ? { node: op.node } : {}), summary: `steps ${pv.steps.join(' → ')}` });
    for (const c of pv.changes) objects.push({ action: 'update', kind: c.object.split(' ')[0]!, name: c.object.split(' ')[1]!.split('/').pop()!, namespace, note: `${c.field ? `${c.field}: ${c.from ?? '–'} → ${c.to ?? '–'}; ` : ''}${c.effect}` });
  }
  const outside = ticketSteps(s, 'update');
  return {
    target: { instance: s.input.name, app: inst?.app ?? '', ring: cluster?.ring ?? null, cluster: inst?.cluster ?? '', namespace },
    dryRun: { order: [`NodeOperation ${op.type}${op.node ? ` on ${op.node}` : ''} of AppCluster ${namespace}/${spec.appCluster}, approved by this request`, 'wait until it Succeeded', ...outside.map((o) => o.summary)], fleetDiff: null, planText: null, objects, operations, outside },
    plan: { ...contextOf(cluster), branch: s.branch, base: s.base, namespace, records: [], operation: spec, keepVolumes: true, volumes: [] },
  };
}

/** Other instances of the fleet whose values name this one, and live operations that copy from its AppCluster. */
function dependents(s: Subject, name: string): string[] {
  const out: string[] = [];
  const mentions = (v: unknown): boolean => (typeof v === 'string' ? v === name || v.split(/[\s,;:/]+/).includes(name) : Array.isArray(v) ? v.some(mentions) : v !== null && typeof v === 'object' ? Object.values(v).some(mentions) : false);
  for (const i of s.fleet.instances.values()) if (i.name !== name && mentions(i.values ?? {})) out.push(`instance ${i.name} names it in its values (${i.origin.file})`);
  return out;
}

async function assessDecommission(s: Subject): Promise<Omit<Assessment, 'preflight' | 'ok'>> {
  const name = s.input.name;
  const keepVolumes = s.input.keepVolumes ?? true;
  const found = await existing(s);
  const inst = found?.inst;
  const cluster = inst ? s.fleet.clusters.get(inst.cluster) : undefined;
  const namespace = found?.namespace ?? name;
  const deps = inst ? dependents(s, name) : [];
  let volumes: string[] = [];
  let live: FleetObject[] = [];
  if (found && cluster) {
    const client = clusterClient(s.ctx, cluster);
    volumes = ((await client.list('v1', 'PersistentVolumeClaim', { namespace }).catch(() => ({ items: [] }))).items).map((v) => v.metadata.name!).sort();
    const copying = ((await client.list(API_VERSION, 'NodeOperation').catch(() => ({ items: [] }))).items as NodeOperation[])
      .filter((o) => o.spec.type === 'copyCache' && o.metadata.namespace === namespace && !['Succeeded', 'Failed'].includes(o.status?.phase ?? 'Pending'));
    for (const o of copying) deps.push(`NodeOperation ${o.metadata.namespace}/${o.metadata.name} copies its cache`);
  }
  if (!inst) skip(s, 'nothing depends on it', 'the instance does not exist');
  else if (deps.length) fail(s, 'nothing depends on it', deps.join('; '));
  else pass(s, 'nothing depends on it', `no other instance names ${name} and no operation copies from it`);
  await checkConflicts(s, name);
  const change = inst ? instanceRemoval(s.fleet, name) : { path: `instances/${name}.yaml`, text: null };
  const message = commitMessage(s, `Decommission ${name}${inst ? ` (${inst.app}) on ${inst.cluster}` : ''}`);
  const p = inst ? await preview(s, change, message, name) : null;
  if (inst) {
    try {
      live = (await new Renderer(s.fleet).render(name)).objects.map((o) => o.object);
    } catch {
      // the instance no longer renders at this revision: the release prunes whatever it delivered
    }
  }
  const records = inst ? recordsOf(s, inst.app, name) : [];
  const objects = [
    ...objectsOf(live.filter((o) => o.kind !== 'PersistentVolumeClaim').map((object) => ({ object })), 'delete'),
    ...volumes.map((v) => ({ action: keepVolumes ? 'keep' as const : 'delete' as const, kind: 'PersistentVolumeClaim', name: v, namespace, note: keepVolumes ? 'data kept: marked Prune=false,Delete=false before the release prunes the instance' : 'data deleted (keepVolumes: false)' })),
  ];
  const outside = [...records.map((r) => ({ step: 'dns', summary: `remove A ${r.fqdn}` })), ...ticketSteps(s, 'close')];
  const order = [...records.map((r) => `remove DNS record ${r.fqdn}`), keepVolumes ? `keep ${volumes.length} volume${volumes.length === 1 ? '' : 's'} (${volumes.join(', ') || 'none'})` : `delete ${volumes.length} volume${volumes.length === 1 ? '' : 's'}`, `commit the removal of ${name} from ${change.path} to ${s.branch}`, `release that prunes ${name} from ${inst?.cluster ?? '?'}`, ...ticketSteps(s, 'close').map((o) => o.summary)];
  return {
    target: { instance: name, app: inst?.app ?? '', ring: cluster?.ring ?? null, cluster: inst?.cluster ?? '', namespace },
    dryRun: { order, fleetDiff: p?.fleetDiff ?? null, planText: p?.planText ?? null, objects, operations: [], outside },
    plan: { ...contextOf(cluster), branch: s.branch, base: s.base, namespace, change, message, records, keepVolumes, volumes },
  };
}
