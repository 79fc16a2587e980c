/** A position in a fleet file: 1-based line and column, as editors show them. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** One problem found in the fleet: what is wrong, how to fix it, and where. */
export interface FleetIssue {
  /** Stable, machine-readable kind of problem, e.g. "unknown-field", "missing-reference". */
  code: string;
  message: string;
  hint?: string;
  location?: SourceLocation;
  /** Absent for errors; a warning does not stop rendering (e.g. shell text left as it is). */
  severity?: 'warning';
}

/** Formats an issue the way compilers do: `file:line:column: message (hint)`. */
export function formatIssue(issue: FleetIssue): string {
  const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.column}: ` : '';
  return `${where}${issue.message}${issue.hint ? ` — ${issue.hint}` : ''}`;
}

/** Base of every error the fleet library throws; `code` is stable and starts with RINGMASTER_. */
export class RingmasterError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The fleet (or a manifest in it) is invalid; carries every issue found, not only the first. */
export class FleetValidationError extends RingmasterError {
  readonly issues: FleetIssue[];
  constructor(issues: FleetIssue[]) {
    super('RINGMASTER_FLEET_INVALID', `${issues.length} problem${issues.length === 1 ? '' : 's'} in the fleet:\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n'));
    this.issues = issues;
  }
}

/** A Git operation failed: unknown revision, not a repository, git missing. */
export class GitError extends RingmasterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RINGMASTER_GIT', message, options);
  }
}

/** An external renderer (kubectl kustomize, helm) is missing or failed. */
export class RenderToolError extends RingmasterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RINGMASTER_RENDER_TOOL', message, options);
  }
}
