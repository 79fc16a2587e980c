// The generic ticket step of a request, outbound: a signed JSON POST to the ticketing system's
// webhook, retried while the failure may pass, with one Idempotency-Key for every attempt so the
// receiver can tell a retry from a new call.
import { setTimeout as delay } from 'node:timers/promises';
import { signTicketWebhook } from './ticket-webhook.ts';

export type TicketAction = 'open' | 'update' | 'close';

export interface TicketCall {
  action: TicketAction;
  ticket: string | null;
  request: string;
  kind: string;
  instance: string;
  cluster: string;
  state: string;
  message: string;
}

export interface TicketResult {
  ticket: string | null;
  status: number;
  attempts: number;
}

export interface TicketClient {
  call(c: TicketCall, opts: { idempotencyKey: string; signal?: AbortSignal; log?: (line: string) => void }): Promise<TicketResult>;
}

/**
 * The ticket call failed. `status` is the last HTTP status (null for a network error or an abort);
 * `retryable` says whether calling again later may succeed (it gave up on 429/5xx/network errors)
 * or not (another 4xx, a redirect, an abort).
 */
export class TicketError extends Error {
  readonly status: number | null;
  readonly attempts: number;
  readonly retryable: boolean;
  constructor(message: string, opts: { status: number | null; attempts: number; retryable: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'TicketError';
    this.status = opts.status;
    this.attempts = opts.attempts;
    this.retryable = opts.retryable;
  }
}

export interface TicketClientOptions {
  url: string;
  secret?: string;
  /** Tries in all, 5 by default. */
  attempts?: number;
  /** First backoff, doubled each retry: 500 ms by default. */
  baseMs?: number;
  /** Cap of one wait, Retry-After included: 10 s by default. */
  maxMs?: number;
  /** Bound of one attempt (connect, answer and body): 10 s by default. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const ACTIONS: readonly TicketAction[] = ['open', 'update', 'close'];
const MAX_ANSWER_CHARS = 1_000_000;

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/** The URL as logs may show it: no credentials in user info or query. */
function shown(url: URL): string {
  return url.origin + url.pathname;
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function snippet(text: string): string {
  return text.slice(0, 200).replace(/\s+/g, ' ').trim();
}

function checkCount(value: number | undefined, fallback: number, name: string, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`ticket client: ${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  return v;
}

/**
 * POSTs the call as JSON to `url` with Idempotency-Key, x-ringmaster-timestamp and (with a secret)
 * x-ringmaster-signature; retries network errors, 429 and 5xx with exponential backoff (Retry-After
 * honoured, each wait capped at maxMs); fails at once on other statuses with the status and the
 * first 200 characters of the body. The answer's JSON `ticket` string, when present, is the result's
 * ticket (else the call's own). Total time is bounded by attempts × (timeoutMs + maxMs).
 */
export function createTicketClient(opts: TicketClientOptions): TicketClient {
  const url = parseTicketUrl(opts.url, 'ticket client url');
  const attempts = checkCount(opts.attempts, 5, 'attempts', 1, 20);
  const baseMs = checkCount(opts.baseMs, 500, 'baseMs', 0, 600_000);
  const maxMs = checkCount(opts.maxMs, 10_000, 'maxMs', 0, 600_000);
  const timeoutMs = checkCount(opts.timeoutMs, 10_000, 'timeoutMs', 1, 600_000);
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const where = shown(url);

  return {
    async call(c, { idempotencyKey, signal, log = () => {} }) {
      if (!ACTIONS.includes(c.action)) throw new TicketError(`ticket action ${JSON.stringify(c.action)} is not one of ${ACTIONS.join(', ')}`, { status: null, attempts: 0, retryable: false });
      // a key fetch refuses as a header value would otherwise look like a network error and be retried
      if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
        throw new TicketError('the idempotency key must be 1 to 255 printable ASCII characters without spaces', { status: null, attempts: 0, retryable: false });
      }
      const body = JSON.stringify(c);
      const what = `ticket ${c.action} for ${c.request}`;
      const aborted = (n: number, cause?: unknown) => new TicketError(`${what} aborted after ${n} attempt(s)`, { status: null, attempts: n, retryable: false, cause: cause ?? signal?.reason });
      let last = '';
      let lastStatus: number | null = null;

      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (signal?.aborted) throw aborted(attempt - 1);
        const now = Date.now();
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          accept: 'application/json',
          'idempotency-key': idempotencyKey,
          ...(opts.secret ? signTicketWebhook(opts.secret, body, now) : { 'x-ringmaster-timestamp': String(Math.floor(now / 1000)) }),
        };
        const attemptSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
        const tag = `${what}: attempt ${attempt}/${attempts} POST ${where}`;
        let wait: number | undefined;
        try {
          // redirects are not followed: a POST must not silently land elsewhere
          const res = await doFetch(url, { method: 'POST', headers, body, signal: attemptSignal, redirect: 'manual' });
          const text = (await res.text()).slice(0, MAX_ANSWER_CHARS);
          lastStatus = res.status;
          if (res.status >= 200 && res.status < 300) {
            log(`${tag} → ${res.status}`);
            return { ticket: ticketOf(text) ?? c.ticket, status: res.status, attempts: attempt };
          }
          if (res.status !== 429 && res.status < 500) {
            log(`${tag} → ${res.status}, not retried`);
            throw new TicketError(`${what} failed: POST ${where} answered ${res.status}${text ? `: ${snippet(text)}` : ''}`, { status: res.status, attempts: attempt, retryable: false });
          }
          last = `answered ${res.status}${text ? `: ${snippet(text)}` : ''}`;
          const after = retryAfterMs(res.headers.get('retry-after'), Date.now());
          if (after !== undefined) wait = Math.min(after, maxMs);
        } catch (err) {
          if (err instanceof TicketError) throw err;
          if (signal?.aborted) throw aborted(attempt, err);
          lastStatus = null;
          const e = err as Error & { cause?: { code?: string; message?: string } };
          last = e.name === 'TimeoutError' ? `did not answer within ${timeoutMs} ms` : `cannot be reached: ${e.cause?.code ?? e.cause?.message ?? e.message}`;
        }
        if (attempt === attempts) {
          log(`${tag} ${last}, giving up`);
          break;
        }
        wait ??= Math.min(baseMs * 2 ** (attempt - 1), maxMs);
        log(`${tag} ${last}, retrying in ${wait} ms`);
        try {
          await sleep(wait, signal);
        } catch (err) {
          throw aborted(attempt, err);
        }
      }
      throw new TicketError(`${what} failed after ${attempts} attempts: POST ${where} ${last}`, { status: lastStatus, attempts, retryable: true });
    },
  };
}

function ticketOf(text: string): string | undefined {
  try {
    const json: unknown = JSON.parse(text);
    const t = json && typeof json === 'object' ? (json as { ticket?: unknown }).ticket : undefined;
    return typeof t === 'string' && t !== '' ? t : undefined;
  } catch {
    return undefined;
  }
}

function parseTicketUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // the value is not repeated: a URL may carry a token
    throw new Error(`${what} is not a URL (expected http://… or https://…)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${what} must be an http or https URL, got ${url.protocol.replace(/:$/, '')}:`);
  return url;
}

/** From RINGMASTER_TICKET_URL (http or https; anything else a precise error) and RINGMASTER_TICKET_SECRET (optional); null when the URL is unset. */
export function ticketClientFromEnv(env: NodeJS.ProcessEnv): TicketClient | null {
  const raw = env.RINGMASTER_TICKET_URL?.trim();
  if (!raw) return null;
  const secret = env.RINGMASTER_TICKET_SECRET?.trim() || undefined;
  return createTicketClient({ url: parseTicketUrl(raw, 'RINGMASTER_TICKET_URL').toString(), secret });
}
