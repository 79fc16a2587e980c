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

/** What the release view needs to tell which ring a hold stops (the same rules as decide's). */
export interface HoldSubject {
  release: { state: string; phase: string; paused: boolean };
  rings: Array<{ ring: string; state: string; policy: ResolvedPolicy; approvedBy: string | null }>;
  waves: Array<{ ring: string; wave: number; state: string }>;
  deliver: Array<{ ring: string; wave: number; state: string }>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'halted', 'aborted', 'rolled_back']);

/** The ring a freeze or a closed window holds now, with the hold; undefined when nothing outside holds the release. */
export function currentHold(s: HoldSubject, facts: BoundaryFacts | undefined, now: number): { ring: string; hold: Hold } | undefined {
  if (TERMINAL.has(s.release.state) || s.release.phase === 'rollback' || s.release.paused) return undefined;
  for (const ring of s.rings) {
    if (ring.state === 'succeeded') continue;
    if (TERMINAL.has(ring.state)) return undefined;
    const steps = s.deliver.filter((x) => x.ring === ring.ring);
    if (steps.length === 0) continue;
    const at = (hold: Hold | undefined) => (hold ? { ring: ring.ring, hold } : undefined);
    if (ring.state === 'pending' || ring.state === 'waiting_for_approval') {
      return ring.policy.approval === 'manual' && !ring.approvedBy ? undefined : at(holdAt(facts, ring.policy, now));
    }
    const waves = s.waves.filter((w) => w.ring === ring.ring);
    const current = waves.find((w) => w.state === 'in_progress' || w.state === 'soaking');
    if (current) {
      const waiting = current.state === 'in_progress' && steps.some((x) => x.wave === current.wave && x.state === 'pending');
      return waiting ? at(frozen(facts)) : undefined;
    }
    return waves.some((w) => w.state === 'pending') ? at(holdAt(facts, ring.policy, now)) : undefined;
  }
  return undefined;
}
