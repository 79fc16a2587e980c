import { z } from 'zod';

const name = z.string().max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (an instance or cluster name)');
export const driftName = name;

export const driftQuery = z.strictObject({
  app: name.optional(),
  cluster: name.optional(),
  instance: name.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export const healBody = z.strictObject({
  cluster: name.optional().describe('the cluster, when the instance name is not enough'),
  reason: z.string().max(2000).optional(),
});

export const adoptBody = z.strictObject({
  cluster: name.optional(),
  reason: z.string().max(2000).optional().describe('why the live change is kept; goes into the commit message'),
  base: z.string().min(1).max(200).regex(/^[\w./-]+$/, 'must be a branch, tag or commit of the fleet repo').refine((s) => !s.startsWith('-') && !s.includes('..'), 'must be a branch, tag or commit of the fleet repo').optional(),
  dryRun: z.boolean().optional(),
});

/** A Kubernetes object's key. */
export const objectRef = z.object({ apiVersion: z.string(), kind: z.string(), namespace: z.string().optional(), name: z.string() });

/** A stored drift, as the API answers it. */
export const driftRecord = z.object({
  cluster: z.string(),
  instance: z.string(),
  app: z.string(),
  ring: z.string().nullable(),
  release: z.string(),
  object: objectRef,
  state: z.enum(['drifted', 'missing']),
  path: z.string(),
  desired: z.unknown(),
  live: z.unknown(),
  manager: z.string().nullable(),
  operation: z.string().nullable(),
  changedAt: z.string().nullable(),
  user: z.string().nullable(),
  userVerb: z.string().nullable(),
  userAt: z.string().nullable(),
  firstSeen: z.string(),
  lastSeen: z.string(),
});
export type DriftRecord = z.infer<typeof driftRecord>;

/** Instances with drift, each with its drifted objects and fields: what `drift list` shows. */
export const driftInstance = z.object({
  cluster: z.string(), instance: z.string(), app: z.string(), ring: z.string().nullable(), release: z.string(), objects: z.number(), fields: z.array(driftRecord),
});
export type DriftInstance = z.infer<typeof driftInstance>;

export const driftStats = z.object({ evaluations: z.number(), heals: z.number(), watches: z.number(), objects: z.number() });
export const driftAnswer = z.object({
  detection: z.union([driftStats.extend({ running: z.literal(true), acting: z.boolean() }), z.object({ running: z.literal(false) })]),
  instances: z.array(driftInstance),
});
export type DriftAnswer = z.infer<typeof driftAnswer>;

export const healAnswer = z.object({
  instance: z.string(), cluster: z.string(), mode: z.enum(['argocd', 'direct']),
  healed: z.array(z.unknown()).describe('the fields (or objects) re-applied'),
});

/** How one drifted field is written back. */
export const adoptChange = z.object({
  object: z.string(), path: z.string(), desired: z.unknown(), live: z.unknown(), layer: z.enum(['value', 'patch']),
  value: z.object({ path: z.string(), from: z.unknown(), to: z.unknown() }).optional(),
  patch: z.unknown().optional(),
});

/** What an adopt wrote (or, in a dry run, would write). */
export const adoptAnswer = z.object({
  instance: z.string(),
  cluster: z.string(),
  base: z.string(),
  commit: z.string(),
  branch: z.string().nullable().describe('the branch the commit is on (none in a dry run)'),
  file: z.string(),
  changes: z.array(adoptChange),
  skipped: z.array(z.object({ object: z.string(), path: z.string(), reason: z.string() })),
  plan: z.unknown(),
  planText: z.string(),
});
