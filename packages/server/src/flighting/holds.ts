import type { ResolvedPolicy } from './model.ts';
import { isOpen, nextOpening } from './windows.ts';

/**
 * The holds from outside a release, pure: the organisation's freeze and the ring's deployment windows.
 * They act at boundaries only — a ring or a wave does not start (and under a freeze no cluster step
 * starts); what is in flight finishes. An admin's override lets one release pass a kind of hold.
 */

export type OverrideGate = 'window' | 'freeze';

/** An organisation-wide freeze, in force while endedAt is null. */
export interface Freeze {
  id: number;
  reason: string;
  startedBy: string;
  startedAt: number;
  endedBy: string | null;
  endedAt: number | null;
  endReason: string | null;
}

/** An admin let this release pass a gate, with a reason. */
export interface ReleaseOverride {
  gate: OverrideGate;
  actor: string;
  reason: string;
  at: number;
}

/** What the snapshot carries so decide stays pure: the freeze in force (or null) and the release's overrides. */
export interface BoundaryFacts {
  freeze: Freeze | null;
  overrides: ReleaseOverride[];
}

/** Why a boundary is held: the freeze (since when, by whom, why), or a closed window (and when it opens; null: never again). */
export type Hold =
  | { gate: 'freeze'; reason: string; by: string; since: number }
  | { gate: 'window'; opensAt: number | null };

/** Longest single wait on a window (a timer longer than ~24 days would overflow): the engine looks again at least this often. */
export const MAX_WINDOW_WAIT_MS = 3_600_000;

const passes = (facts: BoundaryFacts | undefined, gate: OverrideGate) => !!facts?.overrides.some((o) => o.gate === gate);

/** The freeze that holds this release, unless an admin let it pass. */
export function frozen(facts: BoundaryFacts | undefined): Hold | undefined {
  const f = facts?.freeze;
  return f && !passes(facts, 'freeze') ? { gate: 'freeze', reason: f.reason, by: f.startedBy, since: f.startedAt } : undefined;
}

/** What holds a ring (or a new wave of it) from starting at `now`: the freeze first, then its windows. */
export function holdAt(facts: BoundaryFacts | undefined, policy: ResolvedPolicy, now: number): Hold | undefined {
  const freeze = frozen(facts);
  if (freeze) return freeze;
  const windows = policy.windows ?? [];
  if (windows.length === 0 || passes(facts, 'window') || isOpen(windows, now)) return undefined;
  return { gate: 'window', opensAt: nextOpening(windows, now) ?? null };
}

/** Milliseconds until a held release wants looking at again: a window when it opens (at most MAX_WINDOW_WAIT_MS); a freeze only when woken (its end wakes the engine). */
export function holdNext(hold: Hold, now: number): number | undefined {
  if (hold.gate === 'freeze' || hold.opensAt === null) return undefined;
  return Math.min(MAX_WINDOW_WAIT_MS, Math.max(0, hold.opensAt - now));
}

/** The journey event's key and data of a hold: one "waiting" event per freeze, and per window opening. */
export function holdEvent(hold: Hold): { key: string; data: Record<string, unknown> } {
  if (hold.gate === 'freeze') return { key: `waiting-freeze-${hold.since}`, data: { gate: 'freeze', reason: hold.reason, by: hold.by } };
  return { key: `waiting-window-${hold.opensAt ?? 'never'}`, data: { gate: 'window', opensAt: hold.opensAt === null ? null : new Date(hold.opensAt).toISOString() } };
}
