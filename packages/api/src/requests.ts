import { z } from 'zod';
import { isUnsafeKey } from './common.ts';
import { OPERATION_TYPES } from './operations.ts';

// The requests API's shapes: a request is declared, checked (preflight), previewed (dry run),
// approved, then executed step by step (docs/requests.md).

export const REQUEST_KINDS = ['provision', 'operate', 'decommission'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const REQUEST_STATES = ['dry_run', 'awaiting_approval', 'running', 'succeeded', 'failed', 'rejected', 'cancelled'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];
export const REQUEST_TERMINAL: ReadonlySet<RequestState> = new Set(['succeeded', 'failed', 'rejected', 'cancelled']);

export const STEP_STATES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type StepState = (typeof STEP_STATES)[number];

const dns1123 = z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lowercase letters, digits and "-"');
const imageRef = z.string().min(1).max(500)
  .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/, 'must be an image reference such as registry.local/appserver:1.2');

/** Values of a new instance: a JSON object, bounded in depth and size, without prototype keys — checked on the raw input, before zod copies it. */
const values = z.unknown().superRefine((v, ctx) => {
  let count = 0;
  const walk = (node: unknown, path: Array<string | number>, depth: number): void => {
    if (++count > 2000) return void ctx.addIssue({ code: 'custom', message: 'must hold at most 2000 values', path });
    if (depth > 16) return void ctx.addIssue({ code: 'custom', message: 'must be nested at most 16 levels deep', path });
    if (Array.isArray(node)) node.forEach((x, i) => walk(x, [...path, i], depth + 1));
    else if (node !== null && typeof node === 'object') {
      for (const k of Object.keys(node)) {
        if (isUnsafeKey(k)) ctx.addIssue({ code: 'custom', message: `the key "${k}" is reserved`, path: [...path, k] });
        else walk((node as Record<string, unknown>)[k], [...path, k], depth + 1);
      }
    } else if (typeof node === 'string' && node.length > 10_000) ctx.addIssue({ code: 'custom', message: 'must be at most 10000 characters', path });
  };
  walk(v, [], 0);
}).pipe(z.record(z.string(), z.unknown()));

/** Body of POST /api/v1/requests. */
export const createRequestBody = z.strictObject({
  kind: z.enum(REQUEST_KINDS),
  name: dns1123.describe('the instance: new (provision) or existing (operate, decommission)'),
  app: dns1123.optional().describe('provision: the app of the new instance'),
  cluster: dns1123.optional().describe('provision: the cluster it goes to'),
  values: values.optional().describe('provision: the instance values'),
  operation: z.strictObject({
    type: z.enum(OPERATION_TYPES),
    node: dns1123.optional(),
    image: imageRef.optional(),
    traffic: z.enum(['serving', 'dark']).optional(),
    source: z.strictObject({ appCluster: dns1123 }).optional(),
  }).optional().describe('operate: the NodeOperation to run'),
  keepVolumes: z.boolean().optional().describe('decommission: keep the data volumes (default true)'),
  ticket: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._:#/-]*$/, 'must be a ticket id such as CHG-2041').optional(),
  reason: z.string().max(2000).optional(),
  dryRun: z.boolean().optional().describe('check and preview only; nothing is written'),
});
export type CreateRequestInput = z.infer<typeof createRequestBody>;

export const listRequestsQuery = z.strictObject({
  state: z.enum(REQUEST_STATES).optional(),
  kind: z.enum(REQUEST_KINDS).optional(),
  instance: dns1123.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const requestId = z.string().min(1).max(60).regex(/^[a-z0-9-]+$/, 'must be a request id such as rq-20261203-081500-a1b2c3');
export const decisionBody = z.strictObject({ comment: z.string().max(2000).optional() });
export const cancelBody = z.strictObject({ reason: z.string().max(2000).optional() });
export const logsQuery = z.strictObject({ follow: z.enum(['true', 'false']).optional() });

/** Payload of POST /api/v1/webhooks/ticket: the ticket (or the request) and its decision. */
export const ticketWebhookBody = z.object({
  ticket: z.string().trim().min(1).max(100).optional(),
  request: z.string().trim().min(1).max(60).optional(),
  state: z.enum(['approved', 'rejected']),
  by: z.string().trim().min(1).max(200).optional(),
  comment: z.string().max(2000).optional(),
}).refine((b) => b.ticket !== undefined || b.request !== undefined, { message: 'names neither a ticket nor a request', path: ['ticket'] });
export const ticketWebhookAnswer = z.object({
  delivery: z.string(), state: z.enum(['approved', 'rejected']), requests: z.array(z.object({ id: z.string(), state: z.enum(REQUEST_STATES) })),
});

/** One preflight check: its name, whether it passed, and why. */
export const preflightCheck = z.object({ check: z.string(), ok: z.boolean(), reason: z.string() });
export type PreflightCheck = z.infer<typeof preflightCheck>;

/** What a request would do, in order. */
export const dryRun = z.object({
  order: z.array(z.string()),
  fleetDiff: z.string().nullable().describe('the fleet-repo change (unified diff of the instance file); null when the request writes none'),
  planText: z.string().nullable().describe('the plan of that change (`ringmaster plan` text)'),
  objects: z.array(z.object({
    action: z.enum(['create', 'update', 'delete', 'keep']), kind: z.string(), name: z.string(), namespace: z.string().optional(), note: z.string().optional(),
  })),
  operations: z.array(z.object({ type: z.string(), node: z.string().optional(), summary: z.string() })),
  outside: z.array(z.object({ step: z.string(), summary: z.string() })),
});
export type DryRun = z.infer<typeof dryRun>;

export const requestStep = z.object({
  name: z.string(), state: z.enum(STEP_STATES), attempts: z.number(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(), message: z.string().nullable(),
});
export type RequestStep = z.infer<typeof requestStep>;

export const requestApproval = z.object({
  state: z.enum(['approved', 'rejected']), by: z.string(), via: z.enum(['person', 'ticket']), at: z.string(), comment: z.string().nullable(),
});
export type RequestApproval = z.infer<typeof requestApproval>;

export const requestSummary = z.object({
  id: z.string(),
  kind: z.enum(REQUEST_KINDS),
  state: z.enum(REQUEST_STATES),
  instance: z.string(),
  app: z.string(),
  ring: z.string().nullable(),
  cluster: z.string(),
  ticket: z.string().nullable(),
  currentStep: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type RequestSummary = z.infer<typeof requestSummary>;

export const requestView = requestSummary.extend({
  reason: z.string().nullable(),
  spec: createRequestBody,
  approval: requestApproval.nullable(),
  preflight: z.array(preflightCheck),
  dryRun,
  steps: z.array(requestStep),
  links: z.object({ commit: z.string().nullable(), release: z.string().nullable(), operation: z.string().nullable() }),
  error: z.string().nullable(),
  updatedAt: z.string(),
});
export type RequestView = z.infer<typeof requestView>;
export const requestList = z.object({ requests: z.array(requestSummary) });

export const logLine = z.object({ at: z.string(), step: z.string(), level: z.enum(['info', 'warn', 'error']), message: z.string() });
export type LogLine = z.infer<typeof logLine>;
export const requestLogs = z.object({ lines: z.array(logLine) });
