import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../storage/schema.ts';
import { NotFoundError } from '../errors.ts';
import type { RequestPlan } from './assess.ts';
import type { CreateRequestInput, DryRun, LogLine, PreflightCheck, RequestApproval, RequestKind, RequestState, RequestStep, RequestSummary, RequestView, StepState } from './model.ts';
import type { RequestsTable, RequestStepsTable } from './tables.ts';

// All SQL of the requests API: a request and its steps, their log lines, and the ticket
// deliveries already seen.

type Db = Kysely<Database>;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** rq-20261203-081500-a1b2c3: sortable by creation, a DNS label (it names the request's NodeOperation). */
export function requestId(now: number): string {
  const d = new Date(now).toISOString();
  return `rq-${d.slice(0, 10).replaceAll('-', '')}-${d.slice(11, 19).replaceAll(':', '')}-${randomBytes(3).toString('hex')}`;
}

export interface StoredRequest {
  row: Selectable<RequestsTable>;
  steps: Array<Selectable<RequestStepsTable>>;
  spec: CreateRequestInput;
  plan: RequestPlan;
  links: RequestView['links'];
}

export async function loadRequest(db: Db, id: string): Promise<StoredRequest> {
  const row = await db.selectFrom('requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError(`no request "${id}"`);
  const steps = await db.selectFrom('request_steps').selectAll().where('request_id', '=', id).orderBy('position').execute();
  return { row, steps, spec: JSON.parse(row.spec) as CreateRequestInput, plan: JSON.parse(row.plan) as RequestPlan, links: JSON.parse(row.links) as RequestView['links'] };
}

export function summaryOf(row: Selectable<RequestsTable>): RequestSummary {
  return {
    id: row.id, kind: row.kind as RequestKind, state: row.state as RequestState, instance: row.instance, app: row.app, ring: row.ring, cluster: row.cluster,
    ticket: row.ticket, currentStep: row.current_step, createdBy: row.created_by, createdAt: iso(row.created_at)!, finishedAt: iso(row.finished_at),
  };
}

export function stepView(s: Selectable<RequestStepsTable>): RequestStep {
  return { name: s.name, state: s.state as StepState, attempts: s.attempts, startedAt: iso(s.started_at), finishedAt: iso(s.finished_at), message: s.message };
}

export function viewOf(r: StoredRequest): RequestView {
  return {
    ...summaryOf(r.row),
    reason: r.row.reason, spec: r.spec, approval: r.row.approval ? (JSON.parse(r.row.approval) as RequestApproval) : null,
    preflight: JSON.parse(r.row.preflight) as PreflightCheck[], dryRun: JSON.parse(r.row.dry_run) as DryRun,
    steps: r.steps.map(stepView), links: r.links, error: r.row.error, updatedAt: iso(r.row.updated_at)!,
  };
}

export async function listRequests(db: Db, q: { state?: string; kind?: string; instance?: string; limit: number }): Promise<RequestSummary[]> {
  let sel = db.selectFrom('requests').selectAll();
  if (q.state) sel = sel.where('state', '=', q.state);
  if (q.kind) sel = sel.where('kind', '=', q.kind);
  if (q.instance) sel = sel.where('instance', '=', q.instance);
  return (await sel.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute()).map(summaryOf);
}

export async function insertRequest(db: Db, row: RequestsTable, steps: string[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('requests').values(row).execute();
    await trx.insertInto('request_steps').values(steps.map((name, position) => ({
      request_id: row.id, position, name, state: 'pending', attempts: 0, next_at: null, started_at: null, finished_at: null, message: null, data: null,
    }))).execute();
  });
}

/** Moves a request from one state to another; false when it was no longer in `from` (someone else decided first). */
export async function transition(db: Db, id: string, from: RequestState[], set: Partial<RequestsTable>): Promise<boolean> {
  const r = await db.updateTable('requests').set(set).where('id', '=', id).where('state', 'in', from).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function updateStep(db: Db, id: string, position: number, set: Partial<RequestStepsTable>): Promise<void> {
  await db.updateTable('request_steps').set(set).where('request_id', '=', id).where('position', '=', position).execute();
}

export async function appendLog(db: Db, id: string, step: string, level: LogLine['level'], message: string, at: number): Promise<void> {
  await db.insertInto('request_logs').values({ request_id: id, step, level, message: message.slice(0, 4000), at }).execute();
}

/** Log lines after `afterId` (0: from the first), at most 5000 at a time. */
export async function logsOf(db: Db, id: string, afterId = 0): Promise<Array<LogLine & { id: number }>> {
  const rows = await db.selectFrom('request_logs').selectAll().where('request_id', '=', id).where('id', '>', afterId).orderBy('id').limit(5000).execute();
  return rows.map((l) => ({ id: Number(l.id), at: iso(l.at)!, step: l.step, level: l.level as LogLine['level'], message: l.message }));
}
