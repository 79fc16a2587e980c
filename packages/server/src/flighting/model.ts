import type { RingPolicy } from '@ringmaster/fleet';
import { resolveMetricGate } from './metric-gate.ts';

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
    ...(policy?.metrics?.length ? { metrics: policy.metrics.map(resolveMetricGate) } : {}),
    ...(policy?.windows?.length ? { windows: policy.windows.map((w) => ({ schedule: w.schedule, durationMs: parseDuration(w.duration)!, timeZone: w.timeZone ?? 'UTC' })) } : {}),
    ...(policy?.alerts ? { alerts: { action: policy.alerts.action } } : {}),
  };
}


/** How a cluster receives releases (and where it is), copied from the fleet at release time. */
export type StepDelivery = (
  | { mode: 'argocd'; namespace: string; project: string; destination: string }
  | { mode: 'direct'; context?: string }
) & { region?: string };


export type StepKind = 'deliver' | 'rollback';

/** Whether a release still rolls out, or rolls back (stored in releases.phase). */
export type ReleasePhase = 'rollout' | 'rollback';

/**
 * Where a cluster step is inside its state: its manifest write, then per delivery mode the Argo CD
 * Applications and their observation, or direct mode's stages (apply, then wait for health) and the prune.
 */
export type StepPhase =
  | { kind: 'write' }
  | { kind: 'apps' }
  | { kind: 'observe' }
  | { kind: 'stage'; stage: number; action: 'apply' | 'wait' }
  | { kind: 'prune' };

/** The stored (and shown) text of a step phase: write, apps, observe, stage:<n>:apply, stage:<n>:wait, prune. */
export function phaseText(p: StepPhase): string {
  return p.kind === 'stage' ? `stage:${p.stage}:${p.action}` : p.kind;
}

/** Reads a stored step phase; an unknown text is an error (the database holds only what phaseText wrote). */
export function parsePhase(text: string): StepPhase {
  if (text === 'write' || text === 'apps' || text === 'observe' || text === 'prune') return { kind: text };
  const [head, n, action] = text.split(':');
  const stage = Number(n);
  if (head === 'stage' && Number.isInteger(stage) && stage >= 0 && (action === 'apply' || action === 'wait')) return { kind: 'stage', stage, action };
  throw new Error(`unknown step phase "${text}"`);
}

/** The first phase of every step, and the first after its manifest write by delivery mode. */
export const WRITE: StepPhase = { kind: 'write' };
export const firstDeliveryPhase = (mode: StepDelivery['mode']): StepPhase => (mode === 'argocd' ? { kind: 'apps' } : { kind: 'stage', stage: 0, action: 'apply' });
