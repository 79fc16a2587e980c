/** Maps errors from any Ringmaster package to a message and an exit code, in one place. */

interface CodedError {
  code: string;
  message: string;
  details?: unknown;
}

function isCoded(err: unknown): err is CodedError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && String((err as { code: string }).code).startsWith('RINGMASTER_');
}

export function formatError(err: unknown): string {
  if (isCoded(err)) return `error: ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}${process.env.RINGMASTER_DEBUG ? '\n' + err.stack : ''}`;
  return `error: ${String(err)}`;
}

/** 1 for every failure; 2 is reserved for "the command worked and found changes" (plan). */
export function exitCodeFor(_err: unknown): number {
  return 1;
}
