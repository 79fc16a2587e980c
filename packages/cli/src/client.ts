import type { Command } from 'commander';
import { ApiError, createClient, routes, type RouteDef, type RouteInput, type RouteName, type RouteOutput } from '@ringmaster/api';
import { ConfigError, configPath, contextToken, readConfig, type Context } from './config.ts';
import { UsageError } from './errors.ts';
import { parseOutput, type OutputFormat } from './output.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:7420';

/** Where the control plane is and how to authenticate, after flags > environment > context. */
export interface Connection {
  server: string;
  token?: string;
  /** The context the connection came from (null: none applied). */
  context: string | null;
  /** True when a server was named somewhere (flag, environment or context), not only the default. */
  configured: boolean;
}

/** The flags of every command that talks to the control plane. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'control plane URL (or RINGMASTER_SERVER, or the context\'s; default http://127.0.0.1:7420)')
    .option('--token <token>', 'bearer token (or RINGMASTER_TOKEN, or the context\'s)')
    .option('-o, --output <format>', 'table | json | yaml (default: the context\'s output, else table)');
}

/** The context a command uses: --context, else RINGMASTER_CONTEXT, else the config file's current context. */
export function selectedContext(cmd: Command): { context: Context | null; file: string } {
  const file = configPath();
  const config = readConfig(file);
  const wanted = (cmd.optsWithGlobals().context as string | undefined) ?? process.env.RINGMASTER_CONTEXT;
  const name = wanted ?? config.currentContext;
  if (name === undefined) return { context: null, file };
  const context = config.contexts.find((c) => c.name === name);
  if (!context) {
    const known = config.contexts.map((c) => c.name).join(', ') || 'none';
    const from = wanted === undefined ? `the current context of ${file}` : `context "${name}"`;
    throw new ConfigError(`${from} ${wanted === undefined ? `("${name}") ` : ''}is not defined in ${file} (contexts: ${known}); see \`ringmaster config get-contexts\``);
  }
  return { context, file };
}

const trim = (url: string) => url.replace(/\/+$/, '');

/**
 * Resolves server and token: flags, then RINGMASTER_SERVER / RINGMASTER_TOKEN, then the context.
 * A context's token is sent only to that context's server, never to a server named elsewhere.
 */
export function connection(cmd: Command): Connection {
  const opts = cmd.opts<{ server?: string; token?: string }>();
  const { context, file } = selectedContext(cmd);
  const named = opts.server ?? process.env.RINGMASTER_SERVER;
  const server = trim(named ?? context?.server ?? DEFAULT_SERVER);
  const useContext = context !== null && trim(context.server) === server;
  const token = opts.token ?? process.env.RINGMASTER_TOKEN ?? (useContext ? contextToken(context, file) : undefined);
  return { server, token, context: useContext ? context.name : null, configured: named !== undefined || context !== null };
}

/** --output when given, else the context's default output, else table. */
export function outputFormat(cmd: Command, allowed: OutputFormat[]): OutputFormat {
  const given = cmd.opts<{ output?: string }>().output;
  if (given !== undefined) return parseOutput(given, allowed);
  const fromContext = selectedContext(cmd).context?.output;
  return fromContext && (allowed as string[]).includes(fromContext) ? fromContext : 'table';
}

interface ApiIssue { message: string; hint?: string; location?: { file: string; line: number; column: number } }

/** The API's error (or a failure to reach it) as the CLI reports it: the message, the field, the issues, and the code for the exit status. */
function cliError(err: unknown, conn: Connection, method: string, path: string): Error {
  if (!(err instanceof ApiError)) {
    return Object.assign(new Error(`cannot reach the server at ${conn.server}: ${(err as Error).message} (set --server, RINGMASTER_SERVER or a context)`), { code: 'RINGMASTER_UNREACHABLE' });
  }
  if (err.code === 'RINGMASTER_NOT_JSON') {
    return Object.assign(new Error(`${conn.server} answered ${method} ${path} with HTTP ${err.status} and no JSON: is it a Ringmaster server?`), { code: 'RINGMASTER_HTTP' });
  }
  const issues = ((err.details as { issues?: ApiIssue[] } | undefined)?.issues ?? []);
  const lines = issues.map((i) => `  ${i.location ? `${i.location.file}:${i.location.line}:${i.location.column}: ` : ''}${i.message}${i.hint ? ` — ${i.hint}` : ''}`);
  return Object.assign(new Error([`${err.message}${err.field ? ` (field ${err.field})` : ''}`, ...lines].join('\n')), { code: err.code.startsWith('HTTP_') ? 'RINGMASTER_HTTP' : err.code, status: err.status, details: err.details });
}

/** Calls one route of the API contract (@ringmaster/api) with the connection's server and token; the server's error shape becomes an error with its code. */
export async function api<N extends RouteName>(conn: Connection, name: N, ...input: object extends RouteInput<N> ? [RouteInput<N>?] : [RouteInput<N>]): Promise<RouteOutput<N>> {
  const route: RouteDef = routes[name];
  if (route.auth === 'token' && !conn.token) {
    throw new UsageError('a token is needed: pass --token, set RINGMASTER_TOKEN, or add a context with `ringmaster config set-context NAME --server URL --token-file FILE` (create a token with `ringmaster token create`)');
  }
  const client = createClient({ baseUrl: conn.server, token: conn.token });
  try {
    return await client.request(name, ...input);
  } catch (err) {
    throw cliError(err, conn, route.method, client.url(name, (input[0] ?? {}) as Pick<RouteInput<N>, 'params' | 'query'>).slice(conn.server.length));
  }
}
