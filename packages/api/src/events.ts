import { z } from 'zod';
import { isUnsafeKey, name } from './common.ts';

/** Every kind of journey event the server understands. */
export const EVENT_KINDS = [
  'commit', 'pr.merged', 'build.started', 'build.finished', 'image.pushed',
  'release', 'promotion.step', 'sync', 'health', 'drift', 'operation', 'request',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const sha = z.string().regex(/^[0-9a-fA-F]{7,64}$/, 'must be a hexadecimal Git commit SHA (7 to 64 characters)').transform((s) => s.toLowerCase());
const statusByKind: Partial<Record<EventKind, readonly string[]>> = {
  'build.finished': ['succeeded', 'failed', 'cancelled'],
  'promotion.step': ['started', 'waiting', 'approved', 'succeeded', 'failed', 'rolled_back', 'aborted'],
  sync: ['Synced', 'OutOfSync', 'Unknown'],
  health: ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'],
  drift: ['detected', 'resolved', 'healed', 'adopted'],
  // a NodeOperation on the instance's AppCluster: created and approved through the API, then each phase the server saw
  operation: ['created', 'approved', 'Running', 'Succeeded', 'Failed'],
  // a provision, operate or decommission request: its decisions, each step it finished, and its end
  request: ['created', 'approved', 'rejected', 'cancelled', 'step', 'succeeded', 'failed'],
};
const requiredByKind: Record<EventKind, readonly (keyof EventInputBase)[]> = {
  commit: ['commit'],
  'pr.merged': ['commit'],
  'build.started': ['buildId'],
  'build.finished': ['buildId', 'status'],
  'image.pushed': ['image'],
  release: ['release'],
  'promotion.step': ['release', 'ring', 'status'],
  sync: ['cluster', 'status'],
  health: ['cluster', 'status'],
  drift: ['cluster', 'instance', 'status'],
  operation: ['cluster', 'instance', 'status'],
  request: ['instance', 'status'],
};

/** How deep an event's `data` may nest (the object itself is level 1); docs/api.md states it. */
export const MAX_DATA_DEPTH = 32;

export interface DataProblem {
  /** Path inside `data` of the offending key or container. */
  path: Array<string | number>;
  message: string;
}

/**
 * Checks free-form event data without recursion (a hostile body may nest thousands of levels):
 * no key that reaches a prototype (`__proto__`, `constructor`, `prototype`) and no deeper than
 * MAX_DATA_DEPTH. Storing, serialising and reading the data back then cannot overflow or pollute.
 */
export function checkEventData(data: unknown): DataProblem | undefined {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value: data, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= MAX_DATA_DEPTH) return { path: [], message: `nests deeper than ${MAX_DATA_DEPTH} levels` };
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: [...path, i] }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (isUnsafeKey(key)) return { path: [...path, key], message: `"${key}" may not be used as a key` };
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}

/** Free-form data, checked on the raw input (before zod copies it): no prototype keys, bounded depth. */
const eventData = z.unknown().superRefine((value, ctx) => {
  const problem = checkEventData(value);
  if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message, abort: true });
}).pipe(z.record(z.string(), z.unknown()));

const eventBase = z.object({
  kind: z.enum(EVENT_KINDS),
  app: name.optional(),
  team: name.optional(),
  repository: z.string().trim().min(1).max(300).optional(),
  commit: sha.optional(),
  previousCommit: sha.optional(),
  branch: z.string().min(1).max(300).optional(),
  author: z.string().min(1).max(300).optional(),
  authorEmail: z.string().max(300).optional(),
  message: z.string().max(65_536).optional(),
  buildId: z.string().min(1).max(200).optional(),
  buildUrl: z.url().max(2000).optional(),
  image: z.string().min(1).max(1000).regex(/^[^\s]+$/, 'must be an image reference without spaces').optional(),
  imageDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>').optional(),
  release: z.string().min(1).max(200).optional(),
  ring: z.string().trim().min(1).max(100).optional(),
  cluster: name.optional(),
  instance: name.optional(),
  status: z.string().min(1).max(40).optional(),
  url: z.url().max(2000).optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  idempotencyKey: z.string().min(1).max(200).optional(),
  data: eventData.optional(),
}).strict();
type EventInputBase = z.infer<typeof eventBase>;

/** One journey event as posted to /api/v1/events; per-kind required fields and statuses are checked too. */
export const eventInputSchema = eventBase.superRefine((ev, ctx) => {
  for (const [field, value] of Object.entries(ev)) {
    // PostgreSQL text cannot hold U+0000 (and Git messages never do)
    if (typeof value === 'string' && value.includes('\u0000')) ctx.addIssue({ code: 'custom', path: [field], message: 'may not contain NUL characters' });
  }
  for (const field of requiredByKind[ev.kind]) {
    if (ev[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `is required for kind "${ev.kind}"` });
  }
  const allowed = statusByKind[ev.kind];
  if (allowed && ev.status !== undefined && !allowed.includes(ev.status)) {
    ctx.addIssue({ code: 'custom', path: ['status'], message: `must be one of ${allowed.join(', ')} for kind "${ev.kind}"` });
  }
});
export type EventInput = z.infer<typeof eventInputSchema>;

export const MAX_BATCH = 5000;
export const eventBatchSchema = z.object({
  events: z.array(eventInputSchema).min(1).max(MAX_BATCH),
}).strict();

/** Body of POST /events: one event, or a batch `{"events": [...]}`; an object with `events` is read as a batch. */
export const eventsBody = z.union([eventBatchSchema, eventInputSchema]);
/** The schema that reads a body of POST /events: a batch when it has `events`, else one event. */
export const eventsBodyOf = (body: unknown): z.ZodType =>
  body && typeof body === 'object' && !Array.isArray(body) && 'events' in body ? eventBatchSchema : eventInputSchema;

/** What recording did with each event: stored (with the changes it joined) or a duplicate. */
export const recordedEvent = z.union([z.object({ id: z.number().int(), changes: z.array(z.string()) }), z.object({ duplicate: z.literal(true) })]);
export const eventsAnswer = z.object({ stored: z.number().int(), duplicates: z.number().int(), events: z.array(recordedEvent) });
export type EventsAnswer = z.infer<typeof eventsAnswer>;

/** The body of every webhook delivery is a JSON object (checked after its signature). */
export const deliveryBody = z.looseObject({});
export const deliveryAnswer = z.object({ delivery: z.string(), duplicate: z.boolean(), stored: z.number().int() });
