import type { Selectable } from 'kysely';
import type { ReleaseStepsTable, ReleasesTable } from './tables.ts';
import type { ReleaseApprovalsTable, ReleaseRingsTable, ReleaseWavesTable } from './tables.ts';
import type { ReleaseSummary } from '@ringmaster/api';
import type { Measurement } from './metric-gate.ts';
import type { BoundaryFacts } from './holds.ts';
import type { ReleaseAlert } from './alerts.ts';
import { parsePhase, type FlightState, type ImageOverride, type ReleasePhase, type ResolvedPolicy, type StepDelivery, type StepInstance, type StepKind, type StepPhase } from './model.ts';

export type { ReleaseSummary };

/** A cluster step as the engine works with it (JSON columns parsed). */
export interface Step {
  releaseId: string;
  step: StepKind;
  cluster: string;
  ring: string;
  wave: number;
  position: number;
  delivery: StepDelivery;
  state: FlightState;
  phase: StepPhase;
  instances: StepInstance[];
  manifestCommit: string | null;
  reason: string | null;
  startedAt: number | null;
  deadlineAt: number | null;
  finishedAt: number | null;
}

export function toStep(r: Selectable<ReleaseStepsTable>): Step {
  return {
    releaseId: r.release_id, step: r.step as StepKind, cluster: r.cluster, ring: r.ring, wave: r.wave, position: r.position,
    delivery: JSON.parse(r.delivery) as StepDelivery, state: r.state as FlightState, phase: parsePhase(r.phase), instances: JSON.parse(r.instances) as StepInstance[],
    manifestCommit: r.manifest_commit, reason: r.reason, startedAt: r.started_at, deadlineAt: r.deadline_at, finishedAt: r.finished_at,
  };
}

export interface Release {
  id: string;
  revision: string;
  override: ImageOverride | null;
  state: FlightState;
  phase: ReleasePhase;
  paused: boolean;
  reason: string | null;
  message: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  summary: ReleaseSummary;
  /** The newer release that stops this one at its next clean boundary. */
  supersededBy?: string | null;
  /** The instances the release was limited to (null: all). */
  only?: string[] | null;
}


export function toRelease(r: Selectable<ReleasesTable>): Release {
  return {
    id: r.id, revision: r.revision, override: r.override ? (JSON.parse(r.override) as ImageOverride) : null, state: r.state as FlightState,
    phase: r.phase as ReleasePhase, paused: r.paused === 1, reason: r.reason, message: r.message, createdBy: r.created_by,
    createdAt: r.created_at, updatedAt: r.updated_at, finishedAt: r.finished_at, summary: JSON.parse(r.summary) as ReleaseSummary,
    supersededBy: r.superseded_by, only: r.only_instances ? (JSON.parse(r.only_instances) as string[]) : null,
  };
}

/** A ring of a release as the engine decides on it (policy parsed). */
export interface Ring {
  ring: string;
  position: number;
  state: FlightState;
  policy: ResolvedPolicy;
  approvedBy: string | null;
  approvedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export function toRing(r: Selectable<ReleaseRingsTable>): Ring {
  return {
    ring: r.ring, position: r.position, state: r.state as FlightState, policy: JSON.parse(r.policy) as ResolvedPolicy,
    approvedBy: r.approved_by, approvedAt: r.approved_at, startedAt: r.started_at, finishedAt: r.finished_at,
  };
}

/** A wave of a ring: the clusters delivered together, then soaked together. */
export interface Wave {
  ring: string;
  wave: number;
  label: string | null;
  state: FlightState;
  startedAt: number | null;
  deadlineAt: number | null;
  soakUntil: number | null;
  finishedAt: number | null;
}

export function toWave(r: Selectable<ReleaseWavesTable>): Wave {
  return {
    ring: r.ring, wave: r.wave, label: r.label, state: r.state as FlightState, startedAt: r.started_at, deadlineAt: r.deadline_at,
    soakUntil: r.soak_until, finishedAt: r.finished_at,
  };
}

export type Approval = Selectable<ReleaseApprovalsTable>;

/** Everything the engine decides a release's next move from: the release, its rings, waves and cluster steps. */
export interface ReleaseSnapshot {
  release: Release;
  rings: Ring[];
  waves: Wave[];
  /** Delivery steps, in rollout order. */
  deliver: Step[];
  /** Rollback steps (none until a rollback started). */
  rollback: Step[];
  /** Metric gate measurements taken so far (metric-gate.ts); absent reads as none. */
  measurements?: Measurement[];
  /** The freeze in force and the release's overrides (absent: nothing holds it). */
  holds?: BoundaryFacts;
  /** Alertmanager alerts that named the release's clusters (alerts.ts). */
  alerts?: ReleaseAlert[];
  /** Other releases' cluster steps in flight, per ring: they count against the ring's maxInFlight. */
  inFlightElsewhere?: Record<string, number>;
  /** The earlier releases still active that change an app this one changes (a queued release waits for them). */
  waitsFor?: string[];
}
