import { readFile } from 'node:fs/promises';
import type { Selectable } from 'kysely';
import { loadFleet, type Fleet, type NotificationSpec } from '@ringmaster/fleet';
import type { NotificationDelivery, NotifyEvent } from '@ringmaster/api';
import type { EventInput } from '../ingest/event-schema.ts';
import type { Storage } from '../storage/storage.ts';
import type { Logger } from '../flighting/context.ts';
import type { NotificationDeliveriesTable } from '../flighting/alert-store.ts';
import { FlightStore } from '../flighting/store.ts';
import type { Release } from '../flighting/steps.ts';
import { formatMessage, type NotifyMessage } from './format.ts';

/** Server options for notifications out. */
export interface NotifierOptions {
  /** The server's public URL, for the link to the release page (default: the URL it listens on). */
  publicUrl?: string;
  /** Attempts per delivery before it is given up (default 5). */
  maxAttempts?: number;
  /** Pause before the first retry; doubled for each further one (default 2 s). */
  retryBaseMs?: number;
  /** Longest time one POST may take (default 10 s). */
  timeoutMs?: number;
  /** Where `{ env: NAME }` is read (default process.env). */
  env?: Record<string, string | undefined>;
}

/** A release event the notifier sends, read from the journey events the engine records. */
export interface Trigger {
  event: NotifyEvent;
  release: string;
  ring: string | null;
  reason: string | null;
}

/** The notification a journey event of the engine stands for, if any (see decide.ts for the events). */
export function triggerOf(e: EventInput): Trigger | undefined {
  if (!e.release) return undefined;
  const data = (e.data ?? {}) as Record<string, unknown>;
  const reason = typeof data.reason === 'string' ? data.reason : null;
  if (e.kind === 'release' && (e.status === 'succeeded' || e.status === 'rolled_back')) return { event: e.status, release: e.release, ring: null, reason: null };
  if (e.kind === 'promotion.step' && !e.cluster && e.ring) {
    if (e.status === 'waiting' && data.gate === 'approval') return { event: 'waiting_for_approval', release: e.release, ring: e.ring, reason: null };
    if (e.status === 'failed' && e.idempotencyKey?.endsWith(':halted')) return { event: 'halted', release: e.release, ring: e.ring, reason };
  }
  return undefined;
}

/** Whether a notification of the fleet covers this event of this release (its `events`, `rings` and `apps`). */
export function covers(n: NotificationSpec, t: Trigger, rel: Pick<Release, 'summary'>): boolean {
  if (!n.events.includes(t.event)) return false;
  const rings = t.ring ? [t.ring] : Object.keys(rel.summary.rings);
  if (n.rings && !n.rings.some((r) => rings.includes(r))) return false;
  if (n.apps && !n.apps.some((a) => rel.summary.apps.includes(a))) return false;
  return true;
}

const STATE: Record<NotifyEvent, string> = { waiting_for_approval: 'waiting_for_approval', halted: 'halted', rolled_back: 'rolled_back', succeeded: 'succeeded' };

/** The delivery log row as the API answers it. */
export const deliveryView = (r: Selectable<NotificationDeliveriesTable>): NotificationDelivery => ({
  id: Number(r.id), notification: r.notification, format: r.format as NotificationDelivery['format'], event: r.event as NotifyEvent, release: r.release_id, ring: r.ring,
  state: r.state as NotificationDelivery['state'], attempts: r.attempts, lastStatus: r.last_status, lastError: r.last_error,
  createdAt: new Date(Number(r.created_at)).toISOString(), deliveredAt: r.delivered_at === null ? null : new Date(Number(r.delivered_at)).toISOString(),
});

/**
 * Notifications out: the engine's release events become deliveries (table notification_deliveries,
 * one per event and notification, so a repeated event is sent once), posted to each notification's
 * incoming webhook with retries and a growing pause, at most `maxAttempts` times. The queue is the
 * table: a restart goes on with what is pending. Stopped with the control plane.
 */
export class Notifier {
  publicUrl: string | undefined;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly timeoutMs: number;
  private readonly env: Record<string, string | undefined>;
  private readonly fleets = new Map<string, Promise<Fleet>>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly storage: Storage, private readonly fleetRepo: string, private readonly log: Logger, options: NotifierOptions = {}, private readonly now: () => number = Date.now) {
    this.publicUrl = options.publicUrl?.replace(/\/+$/, '');
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.env = options.env ?? process.env;
  }

  /** Takes the journey events the engine recorded; those that stand for a notification are queued (in order). */
  notify(events: EventInput[]): void {
    const triggers = events.map(triggerOf).filter((t): t is Trigger => t !== undefined);
    if (triggers.length === 0 || this.stopped) return;
    this.chain = this.chain.then(() => this.enqueue(triggers)).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'queueing notifications failed');
    });
  }

  /** Waits until queued events are in the delivery log (tests, and a clean stop). */
  async flush(): Promise<void> {
    await this.chain;
  }

  /** Starts sending what the delivery log holds pending (after a restart, too). */
  start(): void {
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.chain;
    await this.running;
  }

  /** The delivery log, newest first. */
  async deliveries(q: { release?: string; limit: number }): Promise<NotificationDelivery[]> {
    let sel = this.storage.db.selectFrom('notification_deliveries').selectAll();
    if (q.release) sel = sel.where('release_id', '=', q.release);
    return (await sel.orderBy('id', 'desc').limit(q.limit).execute()).map(deliveryView);
  }

  private fleet(revision: string): Promise<Fleet> {
    let f = this.fleets.get(revision);
    if (!f) {
      f = loadFleet(this.fleetRepo, revision);
      this.fleets.set(revision, f);
      f.catch(() => this.fleets.delete(revision));
      while (this.fleets.size > 4) this.fleets.delete(this.fleets.keys().next().value!);
    }
    return f;
  }

  private async enqueue(triggers: Trigger[]): Promise<void> {
    const store = new FlightStore(this.storage);
    const now = this.now();
    let queued = 0;
    for (const t of triggers) {
      const rel = await store.release(t.release);
      if (!rel) continue;
      const notifications = (await this.fleet(rel.revision)).notifications ?? [];
      for (const n of notifications.filter((x) => covers(x, t, rel))) {
        const message: NotifyMessage = {
          event: t.event, release: rel.id, ring: t.ring, state: STATE[t.event], reason: (t.reason ?? (t.event === 'rolled_back' ? rel.reason : null))?.slice(0, 500) ?? null,
          link: `${this.publicUrl ?? 'http://127.0.0.1:7420'}/releases/${encodeURIComponent(rel.id)}`, revision: rel.revision, at: new Date(now).toISOString(),
        };
        await this.storage.db.insertInto('notification_deliveries').values({
          dedupe_key: `${rel.id}/${t.event}/${t.ring ?? ''}/${n.name}`, notification: n.name, format: n.format, event: t.event, release_id: rel.id, ring: t.ring,
          url_ref: JSON.stringify(n.url), payload: JSON.stringify(formatMessage(n.format, message)), state: 'pending', attempts: 0, next_at: now,
          last_status: null, last_error: null, created_at: now, delivered_at: null,
        }).onConflict((oc) => oc.column('dedupe_key').doNothing()).execute();
        queued++;
      }
    }
    if (queued) this.wake();
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.sendDue().catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'sending notifications failed');
        return this.retryBaseMs;
      }).then((next) => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          next = 0;
        }
        if (next !== undefined) this.schedule(next);
      });
    }, Math.max(0, ms));
  }

  /** Sends every due delivery (at most 10 at once); returns ms until the next one is due, or undefined. */
  private async sendDue(): Promise<number | undefined> {
    const db = this.storage.db;
    const due = await db.selectFrom('notification_deliveries').selectAll().where('state', '=', 'pending').where('next_at', '<=', this.now()).orderBy('id').limit(10).execute();
    await Promise.all(due.map((d) => this.send(d)));
    const next = await db.selectFrom('notification_deliveries').select('next_at').where('state', '=', 'pending').orderBy('next_at').limit(1).executeTakeFirst();
    return next ? Math.max(0, Number(next.next_at) - this.now()) : undefined;
  }

  private async url(ref: { env: string } | { file: string }): Promise<string> {
    if ('env' in ref) {
      const v = Object.hasOwn(this.env, ref.env) ? this.env[ref.env]?.trim() : undefined;
      if (!v) throw new Error(`the environment variable ${ref.env} (the webhook URL) is not set on the server`);
      return v;
    }
    const v = (await readFile(ref.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`the secret file ${ref.file} (the webhook URL) cannot be read: ${err.code ?? err.message}`);
    })).trim();
    if (!v) throw new Error(`the secret file ${ref.file} (the webhook URL) is empty`);
    return v;
  }

  private async send(d: Selectable<NotificationDeliveriesTable>): Promise<void> {
    const attempts = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const url = await this.url(JSON.parse(d.url_ref) as { env: string } | { file: string });
      if (!/^https?:\/\//i.test(url)) throw new Error('the webhook URL must start with http:// or https://');
      const res = await fetch(url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: d.payload, redirect: 'error',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)]),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (!res.ok) error = `the receiver answered ${res.status}`;
    } catch (err) {
      // the message never names the URL: it is a credential
      error = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (err as Error).message.slice(0, 500);
    }
    if (this.stopped && error) return;
    const now = this.now();
    const done = error === null;
    const failed = !done && attempts >= this.maxAttempts;
    await this.storage.db.updateTable('notification_deliveries').set({
      attempts, last_status: status, last_error: error, state: done ? 'delivered' : failed ? 'failed' : 'pending',
      next_at: done || failed ? now : now + this.retryBaseMs * 2 ** (attempts - 1), ...(done ? { delivered_at: now } : {}),
    }).where('id', '=', d.id).execute();
    if (!done) this.log.warn({ release: d.release_id, notification: d.notification, attempts, err: error }, failed ? 'notification given up' : 'notification failed; retrying');
  }
}
