import type { Generated } from 'kysely';

/** A release: a fleet revision (and optional image override) promoted ring by ring. Times are epoch ms. */
export interface ReleasesTable {
  id: string;
  revision: string;
  /** JSON of ImageOverride, or null. */
  override: string | null;
  state: string;
  /** rollout, or rollback once a rollback started. */
  phase: string;
  paused: number;
  reason: string | null;
  message: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** JSON summary of the plan (instances, clusters, per ring counts). */
  summary: string;
  /** The newer release that stops this one at its next clean boundary (overlap policy supersede). */
  superseded_by: string | null;
  /** JSON array of the instances the release was limited to, or null (all). */
  only_instances: string | null;
}

export interface ReleaseRingsTable {
  release_id: string;
  ring: string;
  position: number;
  state: string;
  /** JSON of the resolved policy (defaults filled in). */
  policy: string;
  approved_by: string | null;
  approved_at: number | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface ReleaseWavesTable {
  release_id: string;
  ring: string;
  wave: number;
  label: string | null;
  state: string;
  started_at: number | null;
  deadline_at: number | null;
  soak_until: number | null;
  finished_at: number | null;
}

/** One cluster step: delivering a release (step "deliver") or its rollback (step "rollback") to one cluster. */
export interface ReleaseStepsTable {
  release_id: string;
  step: string;
  cluster: string;
  ring: string;
  wave: number;
  position: number;
  /** JSON of the cluster's delivery settings (mode argocd|direct and its options). */
  delivery: string;
  state: string;
  /** Where the step is inside its state: write, apps, observe, stage:<n>:apply, stage:<n>:wait, prune. */
  phase: string;
  /** JSON: [{ instance, app, action, digest, previousRelease, previousDigest }] */
  instances: string;
  manifest_commit: string | null;
  reason: string | null;
  started_at: number | null;
  deadline_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface ReleaseApprovalsTable {
  id: Generated<number>;
  release_id: string;
  ring: string;
  actor: string;
  at: number;
  result: string;
  reason: string | null;
}

/** What the manifest repo holds per instance: which release's render and its digest. */
export interface DeliveredTable {
  cluster: string;
  instance: string;
  app: string;
  namespace: string;
  release_id: string;
  digest: string;
  updated_at: number;
}

export interface FlightingTables {
  releases: ReleasesTable;
  release_rings: ReleaseRingsTable;
  release_waves: ReleaseWavesTable;
  release_steps: ReleaseStepsTable;
  release_approvals: ReleaseApprovalsTable;
  delivered: DeliveredTable;
}
