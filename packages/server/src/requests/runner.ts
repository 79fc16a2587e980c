import { KubeUnreachableError } from '@ringmaster/kube';
import type { Principal } from '../auth/roles.ts';
import { InputError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';
import type { RequestContext } from './context.ts';
import type { RequestView } from './model.ts';
import { OUTSIDE_STEPS, RetryableError, STEP_HANDLERS, type StepOutcome, type StepRun } from './steps.ts';
import { appendLog, loadRequest, transition, updateStep, type StoredRequest } from './store.ts';

// Runs approved requests, one step at a time, in order. Before a step acts it is saved as running;
// after, as succeeded with what it made. A restart (kill -9 included) finds the running step and
// calls it again: the step looks at the real state first, so nothing done is done twice.

const DEFAULT_STEP_TIMEOUT_MS = 15 * 60_000;

/** Backoff of the n-th retry of an outside step: 1 s, 2 s, 4 s … at most 30 s. */
export const backoffMs = (attempt: number): number => Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));

/** The principal a request acts as once approved: its app and ring, named after the request. */
export function requestPrincipal(r: StoredRequest): Principal {
  return { name: `request:${r.row.id}`, role: 'approver', apps: [r.row.app], rings: r.row.ring ? [r.row.ring] : [] };
}

/** A request event on the journey (of the change its fleet commit made). */
export async function journal(ctx: RequestContext, r: StoredRequest, status: string, author: string | undefined, message: string, data: Record<string, unknown> = {}, key = status): Promise<void> {
  const ev: EventInput = {
    kind: 'request', status: status as never, instance: r.row.instance, cluster: r.row.cluster, app: r.row.app, ...(r.row.ring ? { ring: r.row.ring } : {}),
    ...(r.links.commit ? { commit: r.links.commit } : {}), ...(r.links.release ? { release: r.links.release } : {}), ...(author ? { author } : {}),
    idempotencyKey: `request:${r.row.id}:${key}`, message, data: { request: r.row.id, kind: r.row.kind, ...(r.row.ticket ? { ticket: r.row.ticket } : {}), ...data },
  } as EventInput;
  await ctx.flighting.ctx.record([ev]).catch((err: unknown) => ctx.log.warn({ err: (err as Error).message, request: r.row.id }, 'requests: recording on the journey failed'));
}

export class RequestRunner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private again = false;

  constructor(private readonly ctx: RequestContext) {}

  /** Where the runner writes: the release engine's database, on PostgreSQL fenced by its lease (as the drift detector does). */
  private get db() {
    return this.ctx.flighting.engine.db;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Look now (a request was approved, a step may go on). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.again ? 0 : this.ctx.options.pollIntervalMs ?? 1000);
        this.again = false;
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    // like the drift detector, requests act only where the release engine acts (on PostgreSQL, the lease holder)
    if (!this.ctx.flighting.engine.acting) return;
    const db = this.db;
    const ids = (await db.selectFrom('requests').select('id').where('state', '=', 'running').orderBy('created_at').execute().catch(() => [])).map((r) => r.id);
    for (const id of ids) {
      if (this.stopped) return;
      try {
        await this.advance(id);
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message, request: id }, 'requests: a turn of the runner failed; it is tried again');
      }
    }
  }

  /** Runs the request's steps until one has to wait, or the request ends. */
  async advance(id: string): Promise<void> {
    const db = this.db;
    for (let guard = 0; guard < 20 && !this.stopped; guard++) {
      const r = await loadRequest(db, id);
      if (r.row.state !== 'running') return;
      const step = r.steps.find((s) => s.state !== 'succeeded' && s.state !== 'skipped');
      const now = this.ctx.now();
      if (!step) {
        if (await transition(db, id, ['running'], { state: 'succeeded', current_step: null, updated_at: now, finished_at: now })) {
          await appendLog(db, id, 'request', 'info', 'every step succeeded', now);
          await journal(this.ctx, await loadRequest(db, id), 'succeeded', undefined, `${r.row.kind} of ${r.row.instance} on ${r.row.cluster} succeeded`);
        }
        return;
      }
      if (step.next_at !== null && step.next_at > now) return;
      if (step.state === 'pending') {
        await updateStep(db, id, step.position, { state: 'running', started_at: now, attempts: 1, message: null });
        await db.updateTable('requests').set({ current_step: step.name, updated_at: now }).where('id', '=', id).execute();
        await appendLog(db, id, step.name, 'info', `step ${step.name} started`, now);
        continue;
      }
      const outcome = await this.runStep(r, step);
      if (!outcome || !('done' in outcome)) return;
    }
  }

  private async runStep(r: StoredRequest, step: StoredRequest['steps'][number]): Promise<StepOutcome | undefined> {
    const db = this.db;
    const id = r.row.id;
    const data = step.data ? (JSON.parse(step.data) as Record<string, unknown>) : {};
    const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => appendLog(db, id, step.name, level, message, this.ctx.now());
    const run: StepRun = {
      ctx: this.ctx, req: r, data, principal: requestPrincipal(r), log,
      link: async (links: Partial<RequestView['links']>) => {
        r.links = { ...r.links, ...links };
        await db.updateTable('requests').set({ links: JSON.stringify(r.links), updated_at: this.ctx.now() }).where('id', '=', id).execute();
      },
    };
    const handler = STEP_HANDLERS[step.name];
    try {
      if (!handler) throw new InputError(`unknown step "${step.name}"`, 'step');
      if (step.started_at !== null && this.ctx.now() - step.started_at > (this.ctx.options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS)) {
        throw new Error(`step ${step.name} did not finish within ${Math.round((this.ctx.options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS) / 1000)} s${step.message ? ` (last: ${step.message})` : ''}`);
      }
      const outcome = await handler(run);
      const now = this.ctx.now();
      const merged = JSON.stringify({ ...data, ...(outcome.data ?? {}) });
      if ('done' in outcome) {
        await updateStep(db, id, step.position, { state: 'succeeded', finished_at: now, next_at: null, message: outcome.message, data: merged });
        await log(outcome.message);
        await journal(this.ctx, r, 'step', undefined, `${r.row.kind} of ${r.row.instance}: ${step.name} — ${outcome.message}`, { step: step.name }, `step:${step.name}`);
      } else if (outcome.message !== step.message || merged !== (step.data ?? '{}')) {
        if (outcome.message && outcome.message !== step.message) await log(outcome.message);
        await updateStep(db, id, step.position, { message: outcome.message ?? step.message, data: merged });
      }
      return outcome;
    } catch (err) {
      await this.failed(r, step, err as Error, log);
      return undefined;
    }
  }

  private async failed(r: StoredRequest, step: StoredRequest['steps'][number], err: Error, log: (m: string, l?: 'info' | 'warn' | 'error') => Promise<void>): Promise<void> {
    const db = this.db;
    const now = this.ctx.now();
    const max = this.ctx.options.outsideAttempts ?? 6;
    // an outside system's own verdict decides (a refused TSIG key is not retried); anything else it raises may pass
    const retryable = err instanceof RetryableError || err instanceof KubeUnreachableError || (OUTSIDE_STEPS.has(step.name) && (err as { retryable?: boolean }).retryable !== false);
    if (retryable && step.attempts < max && !(err instanceof InputError)) {
      const delay = backoffMs(step.attempts);
      await updateStep(db, r.row.id, step.position, { attempts: step.attempts + 1, next_at: now + delay, message: `attempt ${step.attempts} of ${max} failed: ${err.message}; next in ${Math.round(delay / 1000)} s` });
      await log(`attempt ${step.attempts} of ${max} failed: ${err.message}; trying again in ${Math.round(delay / 1000)} s`, 'warn');
      return;
    }
    await updateStep(db, r.row.id, step.position, { state: 'failed', finished_at: now, next_at: null, message: err.message });
    await log(`step ${step.name} failed: ${err.message}`, 'error');
    if (await transition(db, r.row.id, ['running'], { state: 'failed', error: `${step.name}: ${err.message}`, updated_at: now, finished_at: now })) {
      await db.updateTable('request_steps').set({ state: 'cancelled' }).where('request_id', '=', r.row.id).where('state', '=', 'pending').execute();
      await journal(this.ctx, r, 'failed', undefined, `${r.row.kind} of ${r.row.instance} failed at ${step.name}: ${err.message}`, { step: step.name });
    }
  }
}
