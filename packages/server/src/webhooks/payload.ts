import { z } from 'zod';
import { parseInput } from '../http/errors.ts';
import type { EventInput } from '../ingest/event-schema.ts';

// The fields of a host's payload that Ringmaster reads, and only those, are declared per event with
// these lenient pieces: hosts send null for absent values and add fields over time (unknown fields
// are ignored), but a field we read with the wrong type is refused with its path (400) instead of
// failing somewhere later (500).

/** A string the host may leave null or out. */
export const text = z.string().nullish();
/** An id the host sends as a number (sometimes as a string). */
export const numericId = z.union([z.number(), z.string()]).nullish();
export const flag = z.boolean().nullish();
/** An object of which Ringmaster reads the given fields; every other field is ignored (and not copied). */
export const part = <T extends z.ZodRawShape>(shape: T) => z.object(shape).nullish();
export const list = <T extends z.ZodType>(item: T) => z.array(item).nullish();

/** The body of every delivery is a JSON object. */
export const deliveryBody = z.looseObject({});

/**
 * A host's time as ISO 8601, or undefined. Hosts send "zero" times for unknown ones (GitHub:
 * 0001-01-01T00:00:00Z), which count as absent; GitLab writes some as "2026-01-02 10:00:00 UTC".
 */
export function hostTime(v: string | null | undefined): string | undefined {
  if (!v) return undefined;
  const ms = Date.parse(v.replace(/ UTC$/, 'Z').replace(/^(\d{4}-\d\d-\d\d) /, '$1T'));
  return Number.isNaN(ms) || ms <= 0 ? undefined : new Date(ms).toISOString();
}

/** An e-mail address, or undefined for placeholders hosts put in place of hidden ones (GitLab: "[REDACTED]"). */
export function emailOf(v: string | null | undefined): string | undefined {
  return v && /^[^\s@[\]]+@[^\s@[\]]+$/.test(v) ? v : undefined;
}

/** Translates one event type: validates the body against the event's schema, then maps it. */
export type EventTranslator = (body: Record<string, unknown>) => EventInput[];

export function translator<S extends z.ZodType>(schema: S, translate: (payload: z.output<S>) => EventInput[]): EventTranslator {
  return (body) => translate(parseInput(schema, body));
}

/** The events a delivery carries; event types without a translator (a Map: no prototype lookups) give none. */
export function translateWith(translators: ReadonlyMap<string, EventTranslator>, event: unknown, body: Record<string, unknown>): EventInput[] {
  const translate = typeof event === 'string' ? translators.get(event) : undefined;
  return translate ? translate(body) : [];
}
