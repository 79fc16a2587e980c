import type { RingPolicy } from '@ringmaster/fleet';

import { FLIGHT_STATES, TERMINAL_STATES, isTerminal } from '@ringmaster/api';
export type { FlightState, ImageOverride, ResolvedPolicy, StepInstance } from '@ringmaster/api';
import type { ResolvedPolicy } from '@ringmaster/api';

/** States a release, ring, wave or cluster step can be in. */
export const STATES = FLIGHT_STATES;
export const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);
export { isTerminal, TERMINAL_STATES };


export const DEFAULT_PROGRESS_DEADLINE_MS = 10 * 60_000;

/** "1h30m" → 5400000; the fleet schema has already checked the syntax. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}"`);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** Fills the defaults of a ring policy: one wave, no in-flight limit, no failure allowed, no soak, auto approval. */
export function resolvePolicy(policy: RingPolicy | undefined): ResolvedPolicy {
  return {
    waves: policy?.waves ?? { all: true },
    maxInFlight: policy?.maxInFlight ?? null,
    maxFailures: policy?.maxFailures ?? 0,
    soakMs: parseDuration(policy?.soak) ?? 0,
    approval: policy?.approval ?? 'auto',
    autoRollback: policy?.autoRollback ?? false,
    progressDeadlineMs: parseDuration(policy?.progressDeadline) ?? DEFAULT_PROGRESS_DEADLINE_MS,
  };
}


/** How a cluster receives releases (and where it is), copied from the fleet at release time. */
export type StepDelivery = (
  | { mode: 'argocd'; namespace: string; project: string; destination: string }
  | { mode: 'direct'; context?: string }
) & { region?: string };


export type StepKind = 'deliver' | 'rollback';
