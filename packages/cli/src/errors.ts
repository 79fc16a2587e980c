/** Maps errors from any Ringmaster package to a message and an exit code, in one place. */

interface CodedError {
  code: string;
  message: string;
  details?: unknown;
}

/** The command line itself is wrong (a flag value, a missing argument): the message names the flag and what it takes. */
export class UsageError extends Error {
  readonly code = 'RINGMASTER_USAGE';
}

/** The command needs the Ringmaster repository (its set-up scripts), but this is the packed CLI. */
export class NeedsCheckoutError extends Error {
  readonly code = 'RINGMASTER_NEEDS_CHECKOUT';
}

function isCoded(err: unknown): err is CodedError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && String((err as { code: string }).code).startsWith('RINGMASTER_');
}

export function isUsageError(err: unknown): boolean {
  return isCoded(err) && err.code === 'RINGMASTER_USAGE';
}

export function formatError(err: unknown): string {
  if (isCoded(err)) return `error: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}${process.env.RINGMASTER_DEBUG ? '\n' + err.stack : ''}`;
  return `error: ${String(err)}`;
}

/**
 * Exit codes (docs/cli.md): 0 ok; 1 for every failure, usage errors included (as kubectl and argocd do);
 * 2 only for "the command worked and found changes" (plan), so a CI job never reads a typo as a change.
 */
export const EXIT = { ok: 0, error: 1, changes: 2 } as const;

export function exitCodeFor(_err: unknown): number {
  return EXIT.error;
}
