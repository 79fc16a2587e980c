import type { Generated } from 'kysely';

/** A request: provision, operate or decommission one instance. JSON columns hold the API's shapes. Times are epoch ms. */
export interface RequestsTable {
  id: string;
  kind: string;
  state: string;
  instance: string;
  app: string;
  ring: string | null;
  cluster: string;
  ticket: string | null;
  reason: string | null;
  /** JSON of CreateRequestInput. */
  spec: string;
  /** JSON of PreflightCheck[] (as checked at creation). */
  preflight: string;
  /** JSON of DryRun. */
  dry_run: string;
  /** JSON of the plan the steps execute (the instance file text, the records…), fixed at creation. */
  plan: string;
  /** JSON of RequestApproval, or null. */
  approval: string | null;
  /** JSON of { commit, release, operation }. */
  links: string;
  error: string | null;
  current_step: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** One ordered step of a request; `data` keeps what a step made (a commit, a release id) so a restart repeats nothing done. */
export interface RequestStepsTable {
  request_id: string;
  position: number;
  name: string;
  state: string;
  attempts: number;
  /** Earliest time of the next attempt (a retry's backoff), or null. */
  next_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  message: string | null;
  data: string | null;
}

export interface RequestLogsTable {
  id: Generated<number>;
  request_id: string;
  step: string;
  level: string;
  message: string;
  at: number;
}

/** Ticket webhook deliveries seen: a replayed delivery id or body is refused. */
export interface TicketDeliveriesTable {
  delivery_id: string;
  fingerprint: string;
  received_at: number;
}

export interface RequestTables {
  requests: RequestsTable;
  request_steps: RequestStepsTable;
  request_logs: RequestLogsTable;
  ticket_deliveries: TicketDeliveriesTable;
}
