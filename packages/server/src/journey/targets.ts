/**
 * Where a change stands on one target (an instance on a cluster): planned by a fleet commit, held
 * at a ring's approval, promoted by the release engine, then what the cluster itself reports.
 */
export const TARGET_STATES = [
  'planned', 'waiting', 'not_reached', 'promoting', 'promoted', 'approved', 'committed', 'synced', 'out_of_sync', 'healthy', 'degraded',
  'failed', 'rolled_back', 'aborted',
] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/** What happens to a target, as the journey events say it. */
export type TargetEvent =
  /** A fleet commit introduces the change's image on the target. */
  | 'planned'
  /** Its ring waits for an approval, or the approval came (or the ring started). */
  | 'ring.waiting' | 'ring.opened'
  /** The release stopped short of the target (halted, aborted, rolled back). */
  | 'release.stopped'
  /** The release engine's cluster step. */
  | 'step.started' | 'step.waiting' | 'step.approved' | 'step.succeeded' | 'step.failed' | 'step.rolled_back' | 'step.aborted'
  /** A manifest commit for the target's cluster. */
  | 'manifest.committed'
  /** What the cluster reports. */
  | 'synced' | 'out_of_sync' | 'healthy' | 'degraded';

/** Not reached (yet): what a target is before the release engine gets to it. */
const UNREACHED = ['planned', 'waiting', 'not_reached'] as const satisfies readonly TargetState[];

/**
 * The one transition table of a target: per event, the state it moves to and the states it may
 * move from (null: from any). An older event cannot undo a newer one: a step's progress never
 * overrides what the cluster itself reported (synced, healthy), its failure does.
 */
export const TARGET_TRANSITIONS: Readonly<Record<TargetEvent, { to: TargetState; from: readonly TargetState[] | null }>> = {
  planned: { to: 'planned', from: null },
  'ring.waiting': { to: 'waiting', from: ['planned'] },
  'ring.opened': { to: 'planned', from: ['waiting'] },
  'release.stopped': { to: 'not_reached', from: ['planned', 'waiting', 'promoting'] },
  'step.started': { to: 'promoting', from: UNREACHED },
  'step.waiting': { to: 'waiting', from: [...UNREACHED, 'promoting'] },
  'step.approved': { to: 'approved', from: [...UNREACHED, 'promoting'] },
  'step.succeeded': { to: 'promoted', from: [...UNREACHED, 'promoting', 'committed'] },
  'step.failed': { to: 'failed', from: null },
  'step.rolled_back': { to: 'rolled_back', from: null },
  'step.aborted': { to: 'aborted', from: null },
  'manifest.committed': { to: 'committed', from: [...UNREACHED, 'promoting', 'promoted'] },
  synced: { to: 'synced', from: [...UNREACHED, 'promoting', 'promoted', 'committed', 'out_of_sync'] },
  out_of_sync: { to: 'out_of_sync', from: ['synced', 'committed'] },
  healthy: { to: 'healthy', from: [...UNREACHED, 'promoting', 'promoted', 'committed', 'synced', 'degraded', 'out_of_sync'] },
  degraded: { to: 'degraded', from: null },
};

/** The state a target in `state` moves to on `event`; undefined when the event does not move it. A new target takes the event's state. */
export function nextTargetState(state: TargetState | undefined, event: TargetEvent): TargetState | undefined {
  const t = TARGET_TRANSITIONS[event];
  if (state === undefined || t.from === null || t.from.includes(state)) return t.to;
  return undefined;
}

const STEP_EVENTS: Readonly<Record<string, TargetEvent>> = {
  started: 'step.started', waiting: 'step.waiting', approved: 'step.approved', succeeded: 'step.succeeded',
  failed: 'step.failed', rolled_back: 'step.rolled_back', aborted: 'step.aborted',
};

/** The target event of a cluster's promotion step status (undefined: a status that moves no target). */
export const stepEvent = (status: string | undefined): TargetEvent | undefined => (status === undefined ? undefined : STEP_EVENTS[status]);

/** The target event of a ring-level promotion step (its gate), or of a release that stopped there. */
export function ringEvent(status: string | undefined): TargetEvent | undefined {
  if (status === 'waiting') return 'ring.waiting';
  if (status === 'approved' || status === 'started') return 'ring.opened';
  if (status === 'failed' || status === 'aborted') return 'release.stopped';
  return undefined;
}
