import { z } from 'zod';

/** A name as the API takes it (app, team, ring, cluster, author…): trimmed, 1-200 characters. */
export const name = z.string().trim().min(1).max(200);
/** A time in a query: ISO 8601 with offset, read as epoch milliseconds. */
export const time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
/** A page size in a query: a whole number from 1 to max, dflt when absent. */
export const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);
/** A DNS-1123 label: the fleet's rule for app, ring, cluster and instance names. */
export const dnsLabel = z.string().max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit');
/** A time in an answer: ISO 8601 (UTC). */
export const isoTime = z.string();
export const nullableTime = isoTime.nullable();
/** A string the answer may leave null. */
export const text = z.string().nullable();

const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** True for a key that would reach an object's prototype when used as a plain property name. */
export const isUnsafeKey = (key: string): boolean => UNSAFE_KEYS.has(key);

export const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** The one JSON error shape every endpoint answers with (docs/api.md, "Errors"). */
export const errorBody = z.object({
  error: z.object({
    code: z.string().describe('a stable code: RINGMASTER_INVALID_INPUT, RINGMASTER_NOT_FOUND, …'),
    message: z.string(),
    field: z.string().optional().describe('the exact path of the offending field (400)'),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;

/** An empty JSON object body (actions that take nothing). */
export const noContent = z.undefined();
