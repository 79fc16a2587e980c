import { z } from 'zod';
import { limit, name, isoTime, text } from './common.ts';

export const fleetQuery = z.object({
  ring: name.optional(), cluster: name.optional(), app: name.optional(), health: name.optional(),
  limit: limit(1000, 200), cursor: z.string().max(1000).optional(),
}).strict();

export const fleetSummaryQuery = z.object({ ring: name.optional(), app: name.optional() }).strict();

/** One instance on one cluster: what runs there now, and the change that brought it. */
export const fleetInstance = z.object({
  cluster: z.string(),
  instance: z.string(),
  app: text,
  ring: text,
  release: text,
  image: text,
  revision: text,
  change: text,
  sync: text,
  health: text,
  updatedAt: isoTime,
});
export type FleetInstance = z.infer<typeof fleetInstance>;

export const fleetPage = z.object({ items: z.array(fleetInstance), nextCursor: text });

export const fleetSummaryRow = z.object({
  ring: text, cluster: z.string(), instances: z.number(), healthy: z.number(), degraded: z.number(), synced: z.number(), releases: z.number(),
});
export const fleetSummaryAnswer = z.object({ clusters: z.array(fleetSummaryRow) });
export type FleetSummaryRow = z.infer<typeof fleetSummaryRow>;
