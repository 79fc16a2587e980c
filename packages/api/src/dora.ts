import { z } from 'zod';
import { name, isoTime, text, time } from './common.ts';

export const doraQuery = z.object({
  app: name.optional(), team: name.optional(), ring: name.optional(), from: time.optional(), to: time.optional(),
}).strict();

/** The four DORA measures of an app, a team or everything, in one ring over a window. */
export const doraAnswer = z.object({
  app: text,
  team: text,
  ring: z.string(),
  window: z.object({ from: isoTime, to: isoTime, days: z.number() }),
  deploymentFrequency: z.object({ deployments: z.number(), perDay: z.number().nullable() }),
  leadTime: z.object({ medianMs: z.number().nullable(), p90Ms: z.number().nullable(), samples: z.number() }),
  changeFailureRate: z.object({ failed: z.number(), deployments: z.number(), rate: z.number().nullable() }),
  timeToRestore: z.object({ medianMs: z.number().nullable(), p90Ms: z.number().nullable(), samples: z.number(), open: z.number() }),
});
export type Dora = z.infer<typeof doraAnswer>;

export const doraSeriesQuery = doraQuery.extend({ buckets: z.coerce.number().int().min(1).max(52).default(12) }).strict();
export const doraSeries = z.object({ total: doraAnswer, buckets: z.array(doraAnswer) });
export type DoraSeries = z.infer<typeof doraSeries>;

export const doraByQuery = z.object({
  by: z.enum(['app', 'team']).default('app'), ring: name.optional(), from: time.optional(), to: time.optional(),
}).strict();
export const doraBy = z.object({ by: z.enum(['app', 'team']), ring: z.string(), items: z.array(doraAnswer) });
export type DoraBy = z.infer<typeof doraBy>;
