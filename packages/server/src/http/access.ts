import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import { requireScopes, type Role, type Scope } from '../auth/roles.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { TokenAuthenticator } from '../auth/tokens.ts';

/**
 * The apps and rings a call touches, as its route knows them from its parameters, body or a lookup;
 * `role` raises the role the call needs (e.g. creating a risky operation approved at once).
 */
export type ScopeOf = (req: FastifyRequest) => Scope[] | { role: Role; targets: Scope[] } | Promise<Scope[] | { role: Role; targets: Scope[] }>;

declare module 'fastify' {
  /** Who may call a route: declared on the route (`config: { role, scope }`), checked by one hook. */
  interface FastifyContextConfig {
    /** The least role of the call; `signed` for webhooks, which authenticate by their signature instead of a token. */
    role?: Role | 'signed';
    /** The apps and rings the call acts on, checked against the token's scope for its role. */
    scope?: ScopeOf;
    /** Names the call's target in its audit record before the check, so that a refusal is recorded against it. */
    audit?: (req: FastifyRequest) => void;
  }
}

export type RouteAccess = Pick<FastifyContextConfig, 'role' | 'scope' | 'audit'>;

/** Reads the route's declared access: one place for both the hook and the test that walks the routes. */
export function accessOf(config: unknown): RouteAccess {
  return (config && typeof config === 'object' ? config : {}) as RouteAccess;
}

/**
 * The authenticated scope's one preHandler: the bearer token, then the route's declared role and
 * scope. A route that declares no role is refused, so a route added without one fails closed.
 */
export function registerAccessHook(api: FastifyInstance, auth: TokenAuthenticator): void {
  api.addHook('preHandler', async (req) => {
    const h = req.headers.authorization;
    if (!h) throw new UnauthenticatedError();
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
    const principal = await auth.authenticate(m[1]!);
    if (!principal) throw new UnauthenticatedError('the bearer token is unknown or revoked');
    req.principal = principal;

    const { role, scope, audit } = accessOf(req.routeOptions.config);
    audit?.(req);
    if (!role || role === 'signed') throw new ForbiddenError(`route ${req.method} ${req.routeOptions.url ?? ''} declares no role: nobody may call it`);
    requireScopes(principal, role, []);
    if (!scope) return;
    const scoped = await scope(req);
    if (Array.isArray(scoped)) requireScopes(principal, role, scoped);
    else requireScopes(principal, scoped.role, scoped.targets);
  });
}

/** A route parameter as Fastify parsed it (always a string for a declared `:name`). */
export function paramOf(req: FastifyRequest, name: string): string {
  const params = req.params as Record<string, string | undefined> | undefined;
  return params?.[name] ?? '';
}

/**
 * A value resolved once per request — by the route's `scope` in the hook, then again by its
 * handler without a second lookup.
 */
export function perRequest<T>(resolve: (req: FastifyRequest) => T | Promise<T>): (req: FastifyRequest) => Promise<T> {
  const memo = new WeakMap<FastifyRequest, Promise<T>>();
  return (req) => {
    let value = memo.get(req);
    if (!value) memo.set(req, (value = Promise.resolve().then(() => resolve(req))));
    return value;
  };
}

/** A registered route and the access it declares (what the route-walking test and the docs read). */
export interface RouteEntry {
  method: string;
  url: string;
  role?: RouteAccess['role'];
  scoped: boolean;
}

/** Collects every route registered on `app` (and in the plugins registered after this call) with its declared access. */
export function collectRoutes(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (r) => {
    const { role, scope } = accessOf(r.config);
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, role, scoped: scope !== undefined });
  });
  return routes;
}
