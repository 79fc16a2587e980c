import type { RequestKind } from '@ringmaster/api';

// The requests API's shapes — what a caller sends and what every reader (dashboard, CLI, tests)
// gets back — are the contract's (@ringmaster/api). A request is declared, checked (preflight),
// previewed (dry run), approved, then executed step by step; each step is persisted before and
// after it runs, so a restart resumes where it stopped.
export {
  REQUEST_KINDS, REQUEST_STATES, REQUEST_TERMINAL, STEP_STATES, cancelBody, createRequestBody, decisionBody, listRequestsQuery, ticketWebhookBody,
  type CreateRequestInput, type DryRun, type LogLine, type PreflightCheck, type RequestApproval, type RequestKind, type RequestState,
  type RequestStep, type RequestSummary, type RequestView, type StepState,
} from '@ringmaster/api';

/** The steps of each kind, in the order they run. */
export function stepsOf(kind: RequestKind, opts: { dns: boolean; ticket: boolean }): string[] {
  const ticket = opts.ticket ? ['ticket'] : [];
  if (kind === 'provision') return ['commit', 'release', 'ready', ...(opts.dns ? ['dns'] : []), ...ticket];
  if (kind === 'operate') return ['operation', ...ticket];
  return [...(opts.dns ? ['dns'] : []), 'volumes', 'commit', 'release', ...ticket];
}
