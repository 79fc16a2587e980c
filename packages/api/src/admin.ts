import { z } from 'zod';
import { dnsLabel, limit, name, nullableTime, isoTime, roleSchema, text } from './common.ts';

/** An app's name in a path: the fleet's rule, so the API takes no name the fleet would refuse. */
export const appName = dnsLabel;

export const appBody = z.object({
  team: name.nullable().optional(),
  repositories: z.array(z.string().trim().min(1).max(300)).max(100).optional(),
  contacts: z.array(z.string().trim().min(1).max(300)).max(50).optional(),
}).strict();

export const appInfo = z.object({ app: z.string(), team: text, contacts: z.array(z.string()), repositories: z.array(z.string()) });
export type AppInfo = z.infer<typeof appInfo>;
export const appList = z.object({ apps: z.array(appInfo) });
/** PUT /apps/{app} answers what it set; fields not given stay out. */
export const appSet = z.object({
  app: z.string(), team: text, repositories: z.array(z.string()).optional(), contacts: z.array(z.string()).optional(),
});

export const settingsBody = z.object({
  fleetRepository: z.string().trim().min(1).max(300).optional(),
  manifestRepository: z.string().trim().min(1).max(300).optional(),
  rings: z.array(dnsLabel).max(50).refine((r) => new Set(r).size === r.length, 'must not repeat a ring').optional(),
  notAdoptedAfterMs: z.number().int().min(1000).max(365 * 86_400_000).optional(),
}).strict();

/** What the journey needs to know about the fleet: which repositories are special and the ring order. */
export const journeySettings = z.object({
  fleetRepository: z.string().optional().describe('repository name (as events and webhooks name it) of the fleet repo'),
  manifestRepository: z.string().optional().describe('repository name of the manifest repo Ringmaster writes into'),
  rings: z.array(z.string()).describe('rings in promotion order; reaching the last one healthy completes a change'),
  notAdoptedAfterMs: z.number().optional().describe('how long a source commit may wait for the fleet to adopt it before it reads "not adopted"'),
});
export type JourneySettings = z.infer<typeof journeySettings>;

export const tokenBody = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/, 'must be 1-200 letters, digits, ".", "_", "@" or "-"'),
  role: roleSchema,
  apps: z.array(name).max(100).optional(),
  rings: z.array(name).max(50).optional(),
}).strict();

export const tokenInfo = z.object({
  id: z.string(), name: z.string(), role: roleSchema, apps: z.array(z.string()), rings: z.array(z.string()),
  createdAt: isoTime, createdBy: text, revokedAt: nullableTime,
});
export type TokenInfo = z.infer<typeof tokenInfo>;
export const createdToken = tokenInfo.extend({ token: z.string().describe('the token itself, shown this once') });
export const tokenList = z.object({ tokens: z.array(tokenInfo) });

export const auditQuery = z.object({ limit: limit(1000, 100), before: z.coerce.number().int().positive().optional(), actor: name.optional() }).strict();
export const auditEntry = z.object({
  id: z.number(),
  at: isoTime,
  actor: z.string(),
  action: z.string(),
  target: text.optional(),
  ip: text.optional(),
  result: z.enum(['ok', 'denied', 'invalid', 'error']).describe('ok, denied (401/403), invalid (4xx), error (5xx)'),
  status: z.number(),
  details: z.unknown().optional(),
});
export type AuditEntry = z.infer<typeof auditEntry>;
export const auditList = z.object({ entries: z.array(auditEntry) });
