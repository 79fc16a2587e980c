import { z } from 'zod';
import { isUnsafeKey } from '@ringmaster/fleet';
import { OPERATION_TYPES } from '@ringmaster/operator';

// The requests API's shapes: what a caller sends (zod, the one schema per input) and what every
// reader — dashboard, CLI, tests — gets back. A request is declared, checked (preflight),
// previewed (dry run), approved, then executed step by step; each step is persisted before and
// after it runs, so a restart resumes where it stopped.

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

export const decisionBody = z.strictObject({ comment: z.string().max(2000).optional() });
export const cancelBody = z.strictObject({ reason: z.string().max(2000).optional() });

/** Payload of POST /api/v1/webhooks/ticket: the ticket (or the request) and its decision. */
export const ticketWebhookBody = z.object({
  ticket: z.string().trim().min(1).max(100).optional(),
  request: z.string().trim().min(1).max(60).optional(),
  state: z.enum(['approved', 'rejected']),
  by: z.string().trim().min(1).max(200).optional(),
  comment: z.string().max(2000).optional(),
}).refine((b) => b.ticket !== undefined || b.request !== undefined, { message: 'names neither a ticket nor a request', path: ['ticket'] });

/** One preflight check: its name, whether it passed, and why. */
export interface PreflightCheck {
  check: string;
  ok: boolean;
  reason: string;
}

/** What a request would do, in order. */
export interface DryRun {
  order: string[];
  /** The fleet-repo change (unified diff of the instance file) — null when the request writes none. */
  fleetDiff: string | null;
  /** The plan of that change (`ringmaster plan` text). */
  planText: string | null;
  objects: Array<{ action: 'create' | 'update' | 'delete' | 'keep'; kind: string; name: string; namespace?: string; note?: string }>;
  operations: Array<{ type: string; node?: string; summary: string }>;
  outside: Array<{ step: string; summary: string }>;
}

export interface RequestStep {
  name: string;
  state: StepState;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  message: string | null;
}

export interface RequestApproval {
  state: 'approved' | 'rejected';
  by: string;
  via: 'person' | 'ticket';
  at: string;
  comment: string | null;
}

export interface RequestSummary {
  id: string;
  kind: RequestKind;
  state: RequestState;
  instance: string;
  app: string;
  ring: string | null;
  cluster: string;
  ticket: string | null;
  currentStep: string | null;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface RequestView extends RequestSummary {
  reason: string | null;
  spec: CreateRequestInput;
  approval: RequestApproval | null;
  preflight: PreflightCheck[];
  dryRun: DryRun;
  steps: RequestStep[];
  links: { commit: string | null; release: string | null; operation: string | null };
  error: string | null;
  updatedAt: string;
}

export interface LogLine {
  at: string;
  step: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** The steps of each kind, in the order they run. */
export function stepsOf(kind: RequestKind, opts: { dns: boolean; ticket: boolean }): string[] {
  const ticket = opts.ticket ? ['ticket'] : [];
  if (kind === 'provision') return ['commit', 'release', 'ready', ...(opts.dns ? ['dns'] : []), ...ticket];
  if (kind === 'operate') return ['operation', ...ticket];
  return [...(opts.dns ? ['dns'] : []), 'volumes', 'commit', 'release', ...ticket];
}
