/** Base of every error the server throws; `code` is stable and starts with RINGMASTER_. */
export class ServerError extends Error {
  readonly code: string;
  readonly details?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = options?.details;
    this.name = new.target.name;
  }
}

/** The input is invalid; `field` is the exact path of the offending field (e.g. "events.3.commit"). */
export class InputError extends ServerError {
  readonly field?: string;
  constructor(message: string, field?: string, details?: unknown) {
    super('RINGMASTER_INVALID_INPUT', message, { details });
    this.field = field;
  }
}

/** No credentials, or credentials that match no live token / no valid signature. */
export class UnauthenticatedError extends ServerError {
  constructor(message = 'a valid bearer token is required (Authorization: Bearer <token>)') {
    super('RINGMASTER_UNAUTHENTICATED', message);
  }
}

/** Authenticated, but the role or its app/ring scope does not allow this call. */
export class ForbiddenError extends ServerError {
  constructor(message: string) {
    super('RINGMASTER_FORBIDDEN', message);
  }
}

export class NotFoundError extends ServerError {
  constructor(message: string) {
    super('RINGMASTER_NOT_FOUND', message);
  }
}

export class ConflictError extends ServerError {
  constructor(message: string) {
    super('RINGMASTER_CONFLICT', message);
  }
}

/** The database cannot be opened or migrated. */
export class StorageError extends ServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RINGMASTER_STORAGE', message, options);
  }
}

/** Something the call needs (a cluster, Git) does not answer now; try again later. */
export class UnavailableError extends ServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RINGMASTER_UNAVAILABLE', message, options);
  }
}
