import type { Selectable } from 'kysely';
import type { ReleaseStepsTable, ReleasesTable } from './tables.ts';
import type { ReleaseSummary } from '@ringmaster/api';
import type { ImageOverride, StepDelivery, StepInstance, StepKind } from './model.ts';

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
  state: string;
  phase: string;
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
    delivery: JSON.parse(r.delivery) as StepDelivery, state: r.state, phase: r.phase, instances: JSON.parse(r.instances) as StepInstance[],
    manifestCommit: r.manifest_commit, reason: r.reason, startedAt: r.started_at, deadlineAt: r.deadline_at, finishedAt: r.finished_at,
  };
}

export interface Release {
  id: string;
  revision: string;
  override: ImageOverride | null;
  state: string;
  phase: 'rollout' | 'rollback';
  paused: boolean;
  reason: string | null;
  message: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  summary: ReleaseSummary;
}


export function toRelease(r: Selectable<ReleasesTable>): Release {
  return {
    id: r.id, revision: r.revision, override: r.override ? (JSON.parse(r.override) as ImageOverride) : null, state: r.state,
    phase: r.phase as Release['phase'], paused: r.paused === 1, reason: r.reason, message: r.message, createdBy: r.created_by,
    createdAt: r.created_at, updatedAt: r.updated_at, finishedAt: r.finished_at, summary: JSON.parse(r.summary) as ReleaseSummary,
  };
}
