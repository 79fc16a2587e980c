import { z } from 'zod';
import { AppSchema } from '@ringmaster/fleet';
import { ROLES } from '../auth/roles.ts';

const name = z.string().trim().min(1).max(200);
const time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);

export const changesQuery = z.object({
  app: name.optional(), team: name.optional(), ring: name.optional(), cluster: name.optional(), author: name.optional(),
  branch: name.optional(), status: z.enum(['in_progress', 'succeeded', 'failed', 'not_adopted']).optional(),
  from: time.optional(), to: time.optional(), limit: limit(500, 50), cursor: z.string().max(500).optional(),
}).strict();

export const fleetQuery = z.object({
  ring: name.optional(), cluster: name.optional(), app: name.optional(), health: name.optional(),
  limit: limit(1000, 200), cursor: z.string().max(1000).optional(),
}).strict();

export const fleetSummaryQuery = z.object({ ring: name.optional(), app: name.optional() }).strict();

export const contactsQuery = z.object({ ring: name, from: time, to: time.optional(), limit: limit(500, 100) }).strict();

export const doraQuery = z.object({
  app: name.optional(), team: name.optional(), ring: name.optional(), from: time.optional(), to: time.optional(),
}).strict();

/** A name of the fleet (app, ring): the fleet's own rule (a DNS-1123 label), so the API takes no name the fleet would refuse. */
const fleetName = AppSchema.shape.name;
export const appName = fleetName;

export const appBody = z.object({
  team: name.nullable().optional(),
  repositories: z.array(z.string().trim().min(1).max(300)).max(100).optional(),
  contacts: z.array(z.string().trim().min(1).max(300)).max(50).optional(),
}).strict();

export const settingsBody = z.object({
  fleetRepository: z.string().trim().min(1).max(300).optional(),
  manifestRepository: z.string().trim().min(1).max(300).optional(),
  rings: z.array(fleetName).max(50).refine((r) => new Set(r).size === r.length, 'must not repeat a ring').optional(),
  notAdoptedAfterMs: z.number().int().min(1000).max(365 * 86_400_000).optional(),
}).strict();

export const tokenBody = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/, 'must be 1-200 letters, digits, ".", "_", "@" or "-"'),
  role: z.enum(ROLES),
  apps: z.array(name).max(100).optional(),
  rings: z.array(name).max(50).optional(),
}).strict();

export const auditQuery = z.object({ limit: limit(1000, 100), before: z.coerce.number().int().positive().optional(), actor: name.optional() }).strict();
