import serverPackage from '../../package.json' with { type: 'json' };
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { buildOpenApi, errorBody, fastifyPath, routes, type RouteDef } from '@ringmaster/api';
import { ROLES, type Principal } from '../auth/roles.ts';
import { parseInput } from './errors.ts';
import { accessOf } from './access.ts';

export interface ContractOptions {
  /** Check every JSON answer against the contract (tests): a mismatch answers 500 and names the route, status and field. */
  validateResponses?: boolean;
}

export interface Contract {
  /** Routes the server registered that the contract does not declare (METHOD path). */
  undeclared: string[];
  /** Routes the server registered that the contract declares (METHOD /fastify/:path). */
  registered: string[];
}

/** The server's version (its package.json): answered by GET /api/v1/version without a token (as kubectl's /version is), and the OpenAPI document's version. */
export const SERVER_VERSION: string = serverPackage.version;

/** The OpenAPI document as docs/openapi.json holds it (npm run gen:openapi). */
export const openApiText = (): string => `${JSON.stringify(buildOpenApi(SERVER_VERSION), null, 2)}\n`;

const hasRole = (p: Principal | undefined, role: RouteDef['role']) => !role || (p !== undefined && ROLES.indexOf(p.role) >= ROLES.indexOf(role));

/**
 * Validates a request against its route's schemas, with the same 400 answer (field and reason) as the
 * handlers' own checks. Signed webhooks are checked after their signature, by their handler; a caller
 * without the route's role is refused by the access hook (http/access.ts), which runs first.
 */
function checkRequest(route: RouteDef) {
  return async (req: FastifyRequest) => {
    if (route.auth === 'signature' || !hasRole(req.principal, route.role)) return;
    if (route.params) parseInput(route.params, req.params);
    if (route.query) parseInput(route.query, req.query, ['query']);
    const body = route.bodyOf ? route.bodyOf(req.body) : route.body;
    if (body && req.body !== undefined) parseInput(body, req.body);
  };
}

/** Checks a JSON answer against the route's schema for its status (errors against the one error shape). */
function checkResponse(route: RouteDef) {
  return async (_req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const status = reply.statusCode;
    const schema = status >= 400 ? errorBody : route.responses[status as keyof RouteDef['responses']];
    if (!schema) throw new Error(`contract: ${route.method} ${route.path} answered ${status}, which the contract does not declare`);
    const r = schema.safeParse(payload);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new Error(`contract: ${route.method} ${route.path} answered ${status} with ${i.path.join('.') || '(body)'}: ${i.message}`);
    }
    return payload;
  };
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The API contract (@ringmaster/api) in the server, in one place: every route is matched by method
 * and path as it is registered, wherever it is registered, and gets the contract's request checks
 * (and, in tests, response checks). Serves the OpenAPI document made from the same table.
 * Install before any route is registered.
 */
export function installContract(app: FastifyInstance, options: ContractOptions): Contract {
  const byRoute = new Map<string, RouteDef>(Object.values(routes).map((r: RouteDef) => [`${r.method} ${fastifyPath(r.path)}`, r]));
  const contract: Contract = { undeclared: [], registered: [] };
  app.addHook('onRoute', (opts: RouteOptions) => {
    for (const method of asArray(opts.method)) {
      if (method === 'HEAD') continue;
      const route = byRoute.get(`${method} ${opts.url}`);
      if (!route) {
        contract.undeclared.push(`${method} ${opts.url}`);
        continue;
      }
      contract.registered.push(`${method} ${opts.url}`);
      const declared = accessOf(opts.config).role;
      const expected = route.auth === 'signature' ? 'signed' : route.auth === 'none' ? undefined : route.role;
      // the contract's role is the one truth (the OpenAPI document and the CLI read it): a route that says otherwise does not start
      if (declared !== expected) throw new Error(`contract: ${method} ${opts.url} declares role ${declared ?? '(none)'}, the contract says ${expected ?? '(none)'}`);
      opts.preHandler = [...asArray(opts.preHandler), checkRequest(route)];
      if (options.validateResponses) opts.preSerialization = [...asArray(opts.preSerialization), checkResponse(route)];
    }
  });
  const document = buildOpenApi(SERVER_VERSION);
  app.get('/api/v1/openapi.json', async () => document);
  return contract;
}
