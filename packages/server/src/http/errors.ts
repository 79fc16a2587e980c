import { ZodError, type z } from 'zod';
import { InputError, ServerError } from '../errors.ts';

/** The one JSON error shape every endpoint answers with. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: unknown };
}

const STATUS_BY_CODE: Record<string, number> = {
  RINGMASTER_INVALID_INPUT: 400,
  RINGMASTER_UNAUTHENTICATED: 401,
  RINGMASTER_FORBIDDEN: 403,
  RINGMASTER_NOT_FOUND: 404,
  RINGMASTER_CONFLICT: 409,
  RINGMASTER_STORAGE: 503,
  RINGMASTER_UNAVAILABLE: 503,
};

/** Turns a zod failure into an InputError naming the exact field (e.g. `events.3.commit`). */
export function zodToInputError(err: ZodError, prefix: string[] = []): InputError {
  const issues = err.issues.map((i) => {
    const path = [...prefix, ...i.path.map(String)];
    if (i.code === 'unrecognized_keys') path.push(String(i.keys[0]));
    return { field: path.join('.') || '(body)', message: i.code === 'unrecognized_keys' ? `is not a known field (${i.message})` : i.message };
  });
  const first = issues[0]!;
  return new InputError(`${first.field}: ${first.message}`, first.field, issues.length > 1 ? { issues: issues.slice(0, 20) } : undefined);
}

/** Validates input against its schema, throwing InputError with the field path on failure. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix: string[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodToInputError(r.error, prefix);
  return r.data;
}

/** Maps every error (domain, zod, Fastify) to a status and the one error shape, in one place. */
export function toHttpError(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof ZodError) return toHttpError(zodToInputError(err));
  if (err instanceof ServerError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err instanceof InputError && err.field) body.error.field = err.field;
    if (err.details !== undefined) body.error.details = err.details;
    return { status: STATUS_BY_CODE[err.code] ?? 500, body, internal: false };
  }
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'RINGMASTER_PAYLOAD_TOO_LARGE', message: 'the request body is larger than the server accepts (see --body-limit)' } }, internal: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: { code: 'RINGMASTER_UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' } }, internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: { code: 'RINGMASTER_INVALID_INPUT', message: 'the JSON body is empty', field: '(body)' } }, internal: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { error: { code: 'RINGMASTER_INVALID_INPUT', message: 'Content-Length does not match the body' } }, internal: false };
  }
  if (err instanceof SyntaxError) {
    return { status: 400, body: { error: { code: 'RINGMASTER_INVALID_INPUT', message: `the body is not valid JSON: ${err.message}`, field: '(body)' } }, internal: false };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: { code: 'RINGMASTER_BAD_REQUEST', message: e.message ?? 'bad request' } }, internal: false };
  }
  return { status: 500, body: { error: { code: 'RINGMASTER_INTERNAL', message: 'internal error; see the server log' } }, internal: true };
}
