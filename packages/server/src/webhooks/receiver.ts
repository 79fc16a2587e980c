import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InputError } from '../errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';

export type Headers = Record<string, string | string[] | undefined>;

/** A Git host or CI webhook: authenticates a delivery, names it, and translates it into journey events. */
export interface WebhookReceiver {
  source: 'github' | 'gitlab' | 'azure';
  /** Throws UnauthenticatedError for a missing or forged signature/secret. */
  verify(headers: Headers, rawBody: Buffer): void;
  /** The host's delivery id, the unit of idempotency (with the body's fingerprint). */
  deliveryId(headers: Headers, payload: Record<string, unknown>): string;
  /**
   * Events this delivery carries; an event type Ringmaster does not follow gives none. Throws
   * InputError naming the payload field when a field it reads has the wrong type.
   */
  translate(headers: Headers, payload: Record<string, unknown>): EventInput[];
}

/**
 * What a delivery is known by besides its id: the SHA-256 of the signed body. A captured body
 * replayed under a new delivery id has the same fingerprint, and a host's two distinct deliveries
 * never share a body (each names its own commits, run, times).
 */
export function fingerprint(rawBody: Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex');
}

/** A delivery id as stored (deliveries.delivery_id holds 200 characters): longer or odd ones are refused with the field. */
export function deliveryIdOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new InputError(`${field} is missing or not a string`, field);
  if (value.length > 200 || /[\u0000-\u001f]/.test(value)) throw new InputError(`${field} must be at most 200 printable characters`, field);
  return value;
}

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Constant-time string comparison; different lengths are compared against a same-length dummy. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

export function hmacSha256Hex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Keeps only defined fields, so translated events validate like posted ones. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null && v !== '')) as T;
}

export function isSha(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{7,64}$/i.test(v) && !/^0+$/.test(v);
}

export function branchOf(ref: unknown): string | undefined {
  return typeof ref === 'string' && ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
}
