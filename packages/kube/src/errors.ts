/** Base of every error the kube library throws; `code` is stable and starts with RINGMASTER_. */
export class KubeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The Kubernetes API answered with an error status (carries HTTP status and the API's reason). */
export class KubeApiError extends KubeError {
  readonly status: number;
  readonly reason: string | undefined;
  readonly details: unknown;
  constructor(status: number, reason: string | undefined, message: string, details?: unknown) {
    super(status === 409 && reason === 'Conflict' ? 'RINGMASTER_KUBE_CONFLICT' : 'RINGMASTER_KUBE_API', message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

/** The API server could not be reached (connection refused, reset, TLS failure). */
export class KubeUnreachableError extends KubeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RINGMASTER_KUBE_UNREACHABLE', message, options);
  }
}

/** A manifest cannot be handled: missing apiVersion/kind/name, or a kind the server does not serve. */
export class KubeObjectError extends KubeError {
  constructor(message: string) {
    super('RINGMASTER_KUBE_INVALID_OBJECT', message);
  }
}

/** kube-apiserver or etcd binaries are missing, or the local control plane failed to start. */
export class LocalKubeError extends KubeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RINGMASTER_KUBE_LOCAL', message, options);
  }
}

/** True when `err` is an API error with the given HTTP status (e.g. 404, 409, 410). */
export function isStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}
