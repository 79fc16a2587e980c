import type { z } from 'zod';
import { routes, type RouteDef, type RouteName, type Routes } from './routes.ts';

/** An answer of 400 or more, in the API's one error shape; status 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type SuccessStatus = 200 | 201 | 202 | 204;
type Answers<R> = R extends { responses: infer S } ? { [K in keyof S & SuccessStatus]: S[K] extends z.ZodType ? z.output<S[K]> : never }[keyof S & SuccessStatus] : never;

/** What a route takes: its path parameters, query and body (each as the contract's schema reads it). */
export type RouteInput<N extends RouteName> =
  & (Routes[N] extends { params: infer P extends z.ZodType } ? { params: z.input<P> } : { params?: never })
  & (Routes[N] extends { query: infer Q extends z.ZodType } ? { query?: Partial<z.input<Q>> } : { query?: never })
  & (Routes[N] extends { body: infer B extends z.ZodType } ? { body?: z.input<B> } : { body?: never })
  & { signal?: AbortSignal };

/** What a route answers when it succeeds. */
export type RouteOutput<N extends RouteName> = Answers<Routes[N]>;

export interface ClientOptions {
  /** The server's root, e.g. http://127.0.0.1:7420 ('' in a browser on the server's own origin). */
  baseUrl: string;
  /** The bearer token, or a function that reads it at each call (a session that may end). */
  token?: string | null | (() => string | null | undefined);
  fetch?: typeof fetch;
}

export interface ApiClient {
  /** Calls one route of the contract; throws ApiError for an answer of 400 or more. */
  request<N extends RouteName>(name: N, ...input: object extends RouteInput<N> ? [RouteInput<N>?] : [RouteInput<N>]): Promise<RouteOutput<N>>;
  /** The URL of a route with its parameters and query (for streams read by hand). */
  url<N extends RouteName>(name: N, input?: Pick<RouteInput<N>, 'params' | 'query'>): string;
}

const queryString = (query: Record<string, unknown> | undefined): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

const fill = (path: string, params: Record<string, unknown> = {}): string =>
  path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(params[k])));

/** Reads an error answer into an ApiError (JSON in the one shape, else the HTTP status). */
function toError(status: number, statusText: string, body: unknown): ApiError {
  const e = (body as { error?: { code?: string; message?: string; field?: string; details?: unknown } } | undefined)?.error;
  return new ApiError(status, e?.code ?? `HTTP_${status}`, e?.message ?? `${status} ${statusText}`.trim(), e?.field, e?.details);
}

/** One typed client of the HTTP API for the dashboard and the CLI (fetch: browsers and Node 20). */
export function createClient(options: ClientOptions): ApiClient {
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const base = options.baseUrl.replace(/\/+$/, '');
  const url: ApiClient['url'] = (name, input = {}) => {
    const route: RouteDef = routes[name];
    return `${base}${fill(route.path, input.params as Record<string, unknown>)}${queryString(input.query as Record<string, unknown>)}`;
  };
  return {
    url,
    async request(name, ...args) {
      const input = (args[0] ?? {}) as { params?: unknown; query?: unknown; body?: unknown; signal?: AbortSignal };
      const route: RouteDef = routes[name];
      const token = typeof options.token === 'function' ? options.token() : options.token;
      const headers: Record<string, string> = { accept: route.stream ?? 'application/json' };
      if (token && route.auth === 'token') headers.authorization = `Bearer ${token}`;
      if (input.body !== undefined) headers['content-type'] = 'application/json';
      const res = await doFetch(url(name, input as Pick<RouteInput<typeof name>, 'params' | 'query'>), {
        method: route.method, headers, signal: input.signal, body: input.body === undefined ? undefined : JSON.stringify(input.body),
      });
      const text = await res.text();
      let body: unknown = text || undefined;
      if (!route.stream && text) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new ApiError(res.status, 'RINGMASTER_NOT_JSON', `${route.method} ${route.path} answered HTTP ${res.status} and no JSON: is it a Ringmaster server?`);
        }
      }
      if (!res.ok) throw toError(res.status, res.statusText, body);
      return body as RouteOutput<typeof name>;
    },
  };
}
