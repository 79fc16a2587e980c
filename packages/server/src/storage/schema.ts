import type { Generated } from 'kysely';
import type { FreezeTables } from '../flighting/freezes.ts';
import type { FlightingTables } from '../flighting/tables.ts';
import type { MeasurementTables } from '../flighting/measurement-store.ts';
import type { JourneyClusterTables } from '../journey/clusters.ts';
import type { DriftTables } from '../drift/tables.ts';
import type { RequestTables } from '../requests/tables.ts';
import type { AlertTables } from '../flighting/alert-store.ts';

/** Times are milliseconds since the epoch in BIGINT columns, so both dialects sort and subtract them alike. */
export interface EventsTable {
  id: Generated<number>;
  kind: string;
  source: string;
  delivery_id: string | null;
  idempotency_key: string | null;
  app: string | null;
  team: string | null;
  repository: string | null;
  commit_sha: string | null;
  previous_commit: string | null;
  branch: string | null;
  author: string | null;
  author_email: string | null;
  message: string | null;
  build_id: string | null;
  build_url: string | null;
  image: string | null;
  image_digest: string | null;
  release_id: string | null;
  ring: string | null;
  cluster: string | null;
  instance: string | null;
  status: string | null;
  url: string | null;
  occurred_at: number;
  received_at: number;
  data: string | null;
}

export interface EventChangesTable {
  event_id: number;
  change_id: string;
}

export interface ChangesTable {
  id: string;
  app: string | null;
  team: string | null;
  repository: string | null;
  commit_sha: string;
  branch: string | null;
  author: string | null;
  author_email: string | null;
  title: string | null;
  committed_at: number;
  updated_at: number;
  stage: string;
  status: string;
  build_id: string | null;
  build_url: string | null;
  image: string | null;
  image_digest: string | null;
  fleet_revision: string | null;
  release_id: string | null;
  failed_at: number | null;
}

/** Correlation keys: (kind, value) → change; a release or an image can belong to several changes. */
export interface ChangeKeysTable {
  kind: string;
  value: string;
  change_id: string;
}

export interface ChangeTargetsTable {
  change_id: string;
  cluster: string;
  instance: string;
  app: string | null;
  ring: string | null;
  state: string;
  manifest_commit: string | null;
  release_id: string | null;
  synced_at: number | null;
  healthy_at: number | null;
  updated_at: number;
  /** The image the rendered objects of this instance run for the change (from the fleet change's plan). */
  image: string | null;
}

export interface ChangeRingsTable {
  change_id: string;
  app: string | null;
  team: string | null;
  ring: string;
  reached_at: number;
  lead_ms: number;
  /** 1 once the change has failed anywhere: denormalised so DORA reads one index only. */
  failed: number;
}

export interface FleetStateTable {
  cluster: string;
  instance: string;
  app: string | null;
  ring: string | null;
  release_id: string | null;
  image: string | null;
  revision: string | null;
  change_id: string | null;
  sync: string | null;
  health: string | null;
  updated_at: number;
}

export interface IncidentsTable {
  id: Generated<number>;
  app: string | null;
  team: string | null;
  ring: string | null;
  cluster: string;
  instance: string;
  change_id: string | null;
  started_at: number;
  restored_at: number | null;
}

export interface AppsTable {
  app: string;
  team: string | null;
  contacts: string | null;
  updated_at: number;
}

export interface AppRepositoriesTable {
  repository: string;
  app: string;
}

export interface DeliveriesTable {
  source: string;
  delivery_id: string;
  received_at: number;
  events: number;
}

export interface TokensTable {
  id: string;
  name: string;
  role: string;
  apps: string | null;
  rings: string | null;
  token_hash: string;
  created_at: number;
  created_by: string | null;
  revoked_at: number | null;
}

export interface AuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  result: string;
  status: number;
  details: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database extends FlightingTables, DriftTables, RequestTables, JourneyClusterTables, MeasurementTables, FreezeTables, AlertTables {
  events: EventsTable;
  event_changes: EventChangesTable;
  changes: ChangesTable;
  change_keys: ChangeKeysTable;
  change_targets: ChangeTargetsTable;
  change_rings: ChangeRingsTable;
  fleet_state: FleetStateTable;
  incidents: IncidentsTable;
  apps: AppsTable;
  app_repositories: AppRepositoriesTable;
  deliveries: DeliveriesTable;
  tokens: TokensTable;
  audit: AuditTable;
  settings: SettingsTable;
}
