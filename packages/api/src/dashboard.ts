import { z } from 'zod';
import { name, nullableTime, isoTime, roleSchema, text } from './common.ts';
import { approvalWait, changeSummary } from './changes.ts';

/** Who the token is: the dashboard shows and hides actions by it. */
export const me = z.object({ name: z.string(), role: roleSchema, apps: z.array(z.string()), rings: z.array(z.string()) });
export type Me = z.infer<typeof me>;

/** A stage cell of the changes board: when it started and finished, how it ended, where to look. */
export const stageCell = z.object({ startedAt: nullableTime, finishedAt: nullableTime, status: text, url: text, ref: text });
export type StageCell = z.infer<typeof stageCell>;

/** A ring cell: how many of the change's targets in that ring are synced and healthy. */
export const ringCell = z.object({
  targets: z.number(),
  synced: z.number(),
  healthy: z.number(),
  failed: z.number(),
  rolledBack: z.number().describe('of the failed: targets a rollback restored to what ran before'),
  waiting: z.number(),
  notReached: z.number().describe('targets a halted, rolled-back or aborted release never reached'),
  reachedAt: nullableTime.describe('first cluster healthy in the ring (the change reached it)'),
  completedAt: nullableTime.describe('last cluster healthy, once every target is'),
  gate: text.describe("the ring's own gate as promotion steps report it: waiting (for approval), started, succeeded, failed"),
  eta: z.object({
    expectedAt: nullableTime, expectedAtP90: nullableTime, medianMs: z.number().nullable(), samples: z.number(), waitingFor: approvalWait.nullable(),
  }).nullable().describe("for a ring not reached yet: the predicted arrival, from this app's history"),
});
export type RingCell = z.infer<typeof ringCell>;

export const boardRow = changeSummary.extend({
  stages: z.object({ commit: stageCell, build: stageCell, image: stageCell, config: stageCell, release: stageCell }),
  pullRequestUrl: text,
  commitUrl: text,
  ringCells: z.record(z.string(), ringCell),
});
export type BoardRow = z.infer<typeof boardRow>;

export const board = z.object({ rings: z.array(z.string()), items: z.array(boardRow), nextCursor: text });
export type Board = z.infer<typeof board>;

export const fleetMatrixQuery = z.object({
  ring: name.optional(), region: name.optional(), app: name.optional(), cluster: name.optional(), health: name.optional(),
  drift: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).strict();

export const fleetCell = z.object({
  instance: z.string(), release: text, image: text, revision: text, change: text, sync: text, health: text, drift: z.boolean(), updatedAt: isoTime,
});
export type FleetCell = z.infer<typeof fleetCell>;

/** The instances of one app on one cluster (often one; one per tenant for multi-tenant apps). */
export const fleetAppCell = z.object({
  instances: z.array(fleetCell),
  more: z.number().describe("instances left out of `instances`; the cluster's own page lists them all"),
  healthy: z.number(),
  degraded: z.number(),
  drifted: z.number(),
});
export type FleetAppCell = z.infer<typeof fleetAppCell>;

export const fleetMatrixRow = z.object({
  cluster: z.string(), ring: text, region: text, instances: z.number(), synced: z.number(), healthy: z.number(), degraded: z.number(), drifted: z.number(),
  cells: z.record(z.string(), fleetAppCell).describe("by app ('' for instances whose app is unknown)"),
});
export type FleetMatrixRow = z.infer<typeof fleetMatrixRow>;

export const fleetGroup = z.object({
  ring: text, region: text, clusters: z.number(), instances: z.number(), healthy: z.number(), synced: z.number(), degraded: z.number(), drifted: z.number(),
});
export type FleetGroup = z.infer<typeof fleetGroup>;

export const fleetMatrix = z.object({
  rings: z.array(z.string()),
  apps: z.array(z.object({ app: z.string(), instances: z.number(), clusters: z.number() })),
  groups: z.array(fleetGroup),
  total: z.number(),
  offset: z.number(),
  limit: z.number(),
  clusters: z.array(fleetMatrixRow),
});
export type FleetMatrix = z.infer<typeof fleetMatrix>;

/** Values for the dashboard's filter pickers, each list bounded. */
export const facets = z.object({
  apps: z.array(z.string()), teams: z.array(z.string()), rings: z.array(z.string()), regions: z.array(z.string()),
  clusters: z.array(z.string()), authors: z.array(z.string()), branches: z.array(z.string()),
});
export type Facets = z.infer<typeof facets>;

/** What a dashboard needs to know to refresh: which changes, clusters and releases just moved (GET /stream, event "update"). */
export const liveUpdate = z.object({
  kinds: z.array(z.string()), changes: z.array(z.string()), clusters: z.array(z.string()), releases: z.array(z.string()), at: isoTime,
});
export type LiveUpdate = z.infer<typeof liveUpdate>;
