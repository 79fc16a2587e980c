import { z } from 'zod';
import { limit, name, nullableTime, isoTime, text, time } from './common.ts';

export const changesQuery = z.object({
  app: name.optional(), team: name.optional(), ring: name.optional(), cluster: name.optional(), author: name.optional(),
  branch: name.optional(), status: z.enum(['in_progress', 'succeeded', 'failed', 'not_adopted']).optional(),
  from: time.optional(), to: time.optional(), limit: limit(500, 50), cursor: z.string().max(500).optional(),
}).strict();

/** A change held up by a person: the ring of its release that waits for an approver, and since when. */
export const approvalWait = z.object({
  kind: z.literal('approval'),
  release: z.string(),
  ring: z.string(),
  since: isoTime,
  who: z.string().describe('who may act, as the approve API checks it'),
});
export type ApprovalWait = z.infer<typeof approvalWait>;

/** A ring reached: the first healthy cluster's time, and n/m; the ring is complete only when every target there is healthy. */
export const ringReach = z.object({
  ring: z.string(),
  reachedAt: isoTime,
  targets: z.number(),
  healthy: z.number(),
  completedAt: nullableTime.describe('when the last target of the ring turned healthy, once all have'),
});
export type RingReach = z.infer<typeof ringReach>;

export const changeSummary = z.object({
  id: z.string(),
  app: text,
  team: text,
  repository: text,
  commit: z.string(),
  title: text,
  author: text,
  authorEmail: text,
  branch: text,
  stage: z.string(),
  status: z.string(),
  committedAt: isoTime,
  updatedAt: isoTime,
  buildId: text,
  buildUrl: text,
  image: text,
  imageDigest: text,
  fleetRevision: text,
  release: text,
  failedAt: text,
  rings: z.array(ringReach).describe('rings this change has reached (healthy on at least one cluster)'),
  waiting: approvalWait.nullable().describe('the approval its release waits for now'),
});
export type ChangeSummary = z.infer<typeof changeSummary>;

export const changeList = z.object({ items: z.array(changeSummary), nextCursor: text });

export const timelineEntry = z.object({
  id: z.number(),
  kind: z.string(),
  source: z.string(),
  occurredAt: isoTime,
  repository: text,
  commit: text,
  buildId: text,
  image: text,
  release: text,
  ring: text,
  cluster: text,
  instance: text,
  status: text,
  url: text,
  author: text,
  message: text,
});
export type TimelineEntry = z.infer<typeof timelineEntry>;

export const targetState = z.object({
  cluster: z.string(),
  instance: z.string(),
  app: text,
  ring: text,
  state: z.string(),
  manifestCommit: text,
  release: text,
  image: text.describe("the image this instance's render runs for the change, when the fleet change's plan named it"),
  syncedAt: nullableTime,
  healthyAt: nullableTime,
  updatedAt: isoTime,
});
export type TargetState = z.infer<typeof targetState>;

export const changeDetail = changeSummary.extend({ timeline: z.array(timelineEntry), targets: z.array(targetState) });
export type ChangeDetail = z.infer<typeof changeDetail>;

/** When a change should reach a ring it has not reached, from its app's history. */
export const ringEta = z.object({
  ring: z.string(),
  medianMs: z.number().nullable().describe('median of past lead times (commit → ring healthy) for this app and ring'),
  p90Ms: z.number().nullable(),
  samples: z.number(),
  expectedAt: nullableTime,
  expectedAtP90: nullableTime,
  waitingFor: approvalWait.nullable().describe('set when the ring cannot be reached before a person acts'),
});
export type RingEta = z.infer<typeof ringEta>;

export const changeEta = z.object({
  change: z.string(),
  app: text,
  status: z.string(),
  reached: z.array(z.string()),
  remaining: z.array(ringEta),
  waiting: approvalWait.nullable(),
  successRate: z.object({ rate: z.number().nullable(), succeeded: z.number(), samples: z.number() }),
});
export type ChangeEta = z.infer<typeof changeEta>;

export const contactsQuery = z.object({ ring: name, from: time, to: time.optional(), limit: limit(500, 100) }).strict();
export const contact = z.object({
  author: text, email: text, apps: z.array(z.string()), teams: z.array(z.string()), teamContacts: z.array(z.string()),
  changes: z.array(z.object({ id: z.string(), title: text, reachedAt: isoTime })),
});
export const contactsAnswer = z.object({ ring: z.string(), contacts: z.array(contact) });
export type Contact = z.infer<typeof contact>;
