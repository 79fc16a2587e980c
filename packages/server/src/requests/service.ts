import { requireScopes, type Principal } from '../auth/roles.ts';
import { ConflictError, InputError } from '../errors.ts';
import { assess } from './assess.ts';
import type { RequestContext, RequestOptions } from './context.ts';
import type { Flighting } from '../flighting/routes.ts';
import type { Logger } from '../flighting/context.ts';
import { stepsOf, type CreateRequestInput, type RequestApproval, type RequestState, type RequestView } from './model.ts';
import { journal, RequestRunner } from './runner.ts';
import { appendLog, insertRequest, loadRequest, requestId, transition, viewOf } from './store.ts';

// The requests API's actions: create (preflight and dry run first; nothing is written unless
// every check passes), approve and reject (a person or a ticket), cancel.

export interface Requests {
  ctx: RequestContext;
  runner: RequestRunner;
}

export interface RequestStartDeps {
  flighting?: Flighting;
  options?: RequestOptions;
  fleetRepository?: string;
  log: Logger;
}

/** Starts the requests runner (unless options.runner is false); undefined without flighting, which it builds on. */
export function startRequests(deps: RequestStartDeps): Requests | undefined {
  if (!deps.flighting) return undefined;
  const options = deps.options ?? {};
  const ctx = { flighting: deps.flighting, options, dns: options.dns ?? null, tickets: options.tickets ?? null, fleetRepository: deps.fleetRepository, log: deps.log, now: () => Date.now() };
  const runner = new RequestRunner(ctx);
  if (options.runner !== false && deps.flighting.ctx.options.engine !== false) runner.start();
  return { ctx, runner };
}

/** Creates a request, or answers its dry run. A failing preflight is refused with every check, and nothing is written. */
export async function createRequest(rq: Requests, input: CreateRequestInput, principal: Principal): Promise<RequestView> {
  const ctx = rq.ctx;
  const now = ctx.now();
  const id = input.dryRun ? 'dry-run' : requestId(now);
  // a deployer of the app and ring may ask; the scope of an existing instance is known only after the fleet is read
  requireScopes(principal, 'deployer', input.app ? [{ app: input.app }] : []);
  const a = await assess(ctx, input, id, principal.name);
  requireScopes(principal, 'deployer', [{ app: a.target.app || null, ring: a.target.ring }]);
  const iso = new Date(now).toISOString();
  const steps = stepsOf(input.kind, { dns: a.plan.records.length > 0, ticket: !!ctx.tickets && !!input.ticket });
  if (input.dryRun) {
    return {
      id: '', kind: input.kind, state: 'dry_run', instance: a.target.instance, app: a.target.app, ring: a.target.ring, cluster: a.target.cluster,
      ticket: input.ticket ?? null, currentStep: null, createdBy: principal.name, createdAt: iso, finishedAt: null, reason: input.reason ?? null, spec: input,
      approval: null, preflight: a.preflight, dryRun: a.dryRun, steps: steps.map((name) => ({ name, state: 'pending', attempts: 0, startedAt: null, finishedAt: null, message: null })),
      links: { commit: null, release: null, operation: null }, error: null, updatedAt: iso,
    };
  }
  if (!a.ok) {
    const failed = a.preflight.filter((c) => !c.ok);
    throw new InputError(`preflight failed: ${failed.map((c) => `${c.check} — ${c.reason}`).join('; ')}`, fieldOf(failed[0]!.check), { preflight: a.preflight });
  }
  await insertRequest(ctx.flighting.ctx.storage.db, {
    id, kind: input.kind, state: 'awaiting_approval', instance: a.target.instance, app: a.target.app, ring: a.target.ring, cluster: a.target.cluster,
    ticket: input.ticket ?? null, reason: input.reason ?? null, spec: JSON.stringify({ ...input, dryRun: undefined }), preflight: JSON.stringify(a.preflight),
    dry_run: JSON.stringify(a.dryRun), plan: JSON.stringify(a.plan), approval: null, links: JSON.stringify({ commit: null, release: null, operation: null }),
    error: null, current_step: null, created_by: principal.name, created_at: now, updated_at: now, finished_at: null,
  }, steps);
  await appendLog(ctx.flighting.ctx.storage.db, id, 'request', 'info', `created by ${principal.name}${input.ticket ? ` for ticket ${input.ticket}` : ''}; every preflight check passed; waits for an approver${input.ticket ? ' or the ticket' : ''}`, now);
  const stored = await loadRequest(ctx.flighting.ctx.storage.db, id);
  await journal(ctx, stored, 'created', principal.name, `${input.kind} of ${a.target.instance} on ${a.target.cluster} requested${input.reason ? `: ${input.reason}` : ''}`);
  return viewOf(stored);
}

/** The request field a failed check is about. */
function fieldOf(check: string): string {
  if (check.startsWith('app')) return 'app';
  if (check.startsWith('cluster')) return 'cluster';
  if (check.startsWith('values')) return 'values';
  if (check.startsWith('node')) return 'operation.node';
  return 'name';
}

export interface Decision {
  state: 'approved' | 'rejected';
  by: string;
  via: 'person' | 'ticket';
  comment?: string;
}

/** Approves or rejects a request that waits for approval. A person needs the approver role over its app and ring; a ticket was verified by its signature. */
export async function decide(rq: Requests, id: string, d: Decision, principal?: Principal): Promise<RequestView> {
  const db = rq.ctx.flighting.ctx.storage.db;
  const r = await loadRequest(db, id);
  if (principal) requireScopes(principal, 'approver', [{ app: r.row.app, ring: r.row.ring }]);
  if (r.row.state !== 'awaiting_approval') throw new ConflictError(`request ${id} is ${r.row.state.replace(/_/g, ' ')}; only a request awaiting approval can be ${d.state}`);
  if (principal && principal.name === r.row.created_by && principal.role !== 'admin') {
    throw new ConflictError(`request ${id} was created by ${principal.name}: a second person (or its ticket) approves it`);
  }
  const now = rq.ctx.now();
  const approval: RequestApproval = { state: d.state, by: d.by, via: d.via, at: new Date(now).toISOString(), comment: d.comment ?? null };
  const to: RequestState = d.state === 'approved' ? 'running' : 'rejected';
  const moved = await transition(db, id, ['awaiting_approval'], { state: to, approval: JSON.stringify(approval), updated_at: now, ...(to === 'rejected' ? { finished_at: now } : {}) });
  if (!moved) throw new ConflictError(`request ${id} was decided meanwhile`);
  if (to === 'rejected') await db.updateTable('request_steps').set({ state: 'cancelled' }).where('request_id', '=', id).where('state', '=', 'pending').execute();
  await appendLog(db, id, 'request', 'info', `${d.state} by ${d.by}${d.via === 'ticket' ? ' through the ticket' : ''}${d.comment ? `: ${d.comment}` : ''}`, now);
  const after = await loadRequest(db, id);
  await journal(rq.ctx, after, d.state, d.by, `${r.row.kind} of ${r.row.instance} ${d.state} by ${d.by}${d.via === 'ticket' ? ` (ticket ${r.row.ticket})` : ''}`, { via: d.via });
  if (to === 'running') rq.runner.wake();
  return viewOf(after);
}

/** Cancels a request that has not ended: the step running now finishes its call, no later step starts; what is done stays done. */
export async function cancelRequest(rq: Requests, id: string, principal: Principal, reason?: string): Promise<RequestView> {
  const db = rq.ctx.flighting.ctx.storage.db;
  const r = await loadRequest(db, id);
  requireScopes(principal, 'deployer', [{ app: r.row.app, ring: r.row.ring }]);
  const now = rq.ctx.now();
  const moved = await transition(db, id, ['awaiting_approval', 'running'], { state: 'cancelled', error: reason ? `cancelled: ${reason}` : 'cancelled', updated_at: now, finished_at: now });
  if (!moved) throw new ConflictError(`request ${id} is ${r.row.state.replace(/_/g, ' ')}; it cannot be cancelled`);
  await db.updateTable('request_steps').set({ state: 'cancelled', finished_at: now }).where('request_id', '=', id).where('state', 'in', ['pending', 'running']).execute();
  await appendLog(db, id, 'request', 'warn', `cancelled by ${principal.name}${reason ? `: ${reason}` : ''}; steps already done are not undone`, now);
  const after = await loadRequest(db, id);
  await journal(rq.ctx, after, 'cancelled', principal.name, `${r.row.kind} of ${r.row.instance} cancelled by ${principal.name}`);
  return viewOf(after);
}
