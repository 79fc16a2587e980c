import { z } from 'zod';
import { isoTime, nullableTime } from './common.ts';

/** Body of POST /api/v1/freeze: why everything holds (required). */
export const startFreezeBody = z.object({
  reason: z.string().trim().min(1, 'must say why releases are frozen').max(2000),
}).strict();
export type StartFreezeInput = z.infer<typeof startFreezeBody>;

/** Body of POST /api/v1/freeze/end (and DELETE /api/v1/freeze): an optional note. */
export const endFreezeBody = z.object({ reason: z.string().trim().max(2000).optional() }).strict();

/** A freeze: in force while endedAt is null. */
export const freeze = z.object({
  id: z.number(),
  reason: z.string(),
  startedBy: z.string(),
  startedAt: isoTime,
  endedBy: z.string().nullable(),
  endedAt: nullableTime,
  endReason: z.string().nullable(),
});
export type FreezeView = z.infer<typeof freeze>;

/** GET /api/v1/freeze (and the answer to starting or ending one): whether releases are frozen, and the latest freeze. */
export const freezeStatus = z.object({
  active: z.boolean().describe('true while a freeze holds every release at its next boundary'),
  freeze: freeze.nullable().describe('the freeze in force, else the last one that ended (null: never frozen)'),
});
export type FreezeStatus = z.infer<typeof freezeStatus>;

export const OVERRIDE_GATES = ['window', 'freeze'] as const;

/** Body of POST /api/v1/releases/{id}/override: let this release pass its windows or the freeze. */
export const overrideReleaseBody = z.object({
  gate: z.enum(OVERRIDE_GATES).describe('window: start outside the rings\' deployment windows; freeze: start during a freeze'),
  reason: z.string().trim().min(1, 'must say why the release may pass').max(2000),
}).strict();
export type OverrideReleaseInput = z.infer<typeof overrideReleaseBody>;

/** An override on a release, as the release view shows it. */
export const releaseOverride = z.object({ gate: z.enum(OVERRIDE_GATES), actor: z.string(), reason: z.string(), at: isoTime });
export type ReleaseOverrideView = z.infer<typeof releaseOverride>;
