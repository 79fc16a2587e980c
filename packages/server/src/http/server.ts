import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Storage } from '../storage/storage.ts';
import { eventInputSchema, type EventInput } from '../ingest/event-schema.ts';
import type { recordEvents } from '../journey/record.ts';
import type { Principal } from '../auth/roles.ts';
import { writeAuditIn } from '../auth/audit.ts';
import { createControlPlane, type ControlPlane, type ControlPlaneOptions } from '../control-plane.ts';
import { parseInput, toHttpError } from './errors.ts';
import { collectRoutes, registerAccessHook, type RouteEntry } from './access.ts';
import { REDACTED_LOG_PATHS, requestForLog } from './log-redaction.ts';
import { registerHealthRoutes } from './routes-health.ts';
import { registerLiveRoutes } from './routes-live.ts';
import { registerDashboardRoutes } from './routes-dashboard.ts';
import { registerWebRoutes } from './routes-web.ts';
import { installContract, type Contract } from './contract.ts';
import { registerEventRoutes } from '../ingest/routes.ts';
import { registerChangeRoutes } from '../journey/routes.ts';
import { registerFleetRoutes } from '../journey/routes-fleet.ts';
import { registerAppRoutes } from '../journey/routes-apps.ts';
import { registerSettingsRoutes } from '../journey/routes-settings.ts';
import { registerAuthRoutes } from '../auth/routes.ts';
import { registerReleaseRoutes } from '../flighting/routes.ts';
import { registerFreezeRoutes } from '../flighting/freeze-routes.ts';
import { registerAlertRoutes } from '../flighting/alert-routes.ts';
import { registerNotificationRoutes } from '../notify/routes.ts';
import { registerDriftRoutes } from '../drift/routes.ts';
import { registerOperationRoutes } from '../operations/routes.ts';
import { registerRequestRoutes, registerTicketWebhook } from '../requests/routes.ts';
import { registerWebhookRoutes, type WebhookSecrets } from '../webhooks/routes.ts';

export interface ServerOptions extends ControlPlaneOptions {
  /** false for silence, or a pino level; logs are JSON lines on stdout. */
  logLevel?: false | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Where log lines go (default stdout); tests capture them here. */
  logStream?: { write(line: string): void };
  /** Largest accepted request body in bytes (413 above it). Default 1 MiB. */
  bodyLimit?: number;
  webhooks?: WebhookSecrets;
  /** Honour X-Forwarded-For for the audit's client address (behind a reverse proxy). */
  trustProxy?: boolean;
  /** Check every JSON answer against the API contract (tests): a mismatch answers 500 naming the field. */
  validateResponses?: boolean;
}

export interface RingmasterServer {
  app: FastifyInstance;
  storage: Storage;
  /** What runs behind the API: storage, write queue, engine, drift detection, requests runner, live feed. */
  plane: ControlPlane;
  /** Every route with the role it declares. */
  routes: readonly RouteEntry[];
  /** Records journey events in-process (for flighting), with the same correlation as the HTTP API. */
  record(events: EventInput[], source?: string): ReturnType<typeof recordEvents>;
  /** The API contract as installed: routes it does not declare, if any. */
  contract: Contract;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    rawBody?: Buffer;
    audit?: { actor?: string; target?: string; details?: Record<string, unknown> };
    startedAt?: bigint;
  }
}

function createApp(options: ServerOptions): FastifyInstance {
  return Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    logger: options.logLevel === false ? false : {
      level: options.logLevel ?? 'info',
      redact: REDACTED_LOG_PATHS,
      serializers: { req: requestForLog },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
  });
}

/** JSON only (raw bytes kept for webhook signatures), one error shape, and 404 for unknown routes. */
function installParsing(app: FastifyInstance): void {
  // Only JSON is accepted; the raw bytes are kept because webhook signatures are computed over them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const buf = body as Buffer;
    req.rawBody = buf;
    if (buf.length === 0) {
      done(Object.assign(new Error('empty body'), { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', statusCode: 400 }), undefined);
      return;
    }
    try {
      done(null, JSON.parse(buf.toString('utf8')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, internal } = toHttpError(err);
    if (internal) req.log.error({ err }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'RINGMASTER_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });
}

/** The audit record of every mutating API call, refused ones included, and request metrics. */
function installAuditAndMetrics(app: FastifyInstance, plane: ControlPlane): void {
  app.addHook('onRequest', async (req) => {
    req.startedAt = process.hrtime.bigint();
  });
  // Every mutating API call leaves an audit record, refused ones included.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.url.startsWith('/api/')) {
      const status = reply.statusCode;
      let details = req.audit?.details;
      if (status >= 400 && typeof payload === 'string') {
        try {
          const code = (JSON.parse(payload) as { error?: { code?: string } }).error?.code;
          details = { ...details, error: code };
        } catch {
          // not JSON: nothing to add
        }
      }
      try {
        const record = {
          actor: req.principal?.name ?? req.audit?.actor ?? 'anonymous',
          action: `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`,
          target: req.audit?.target ?? req.url.split('?')[0]!,
          ip: req.ip,
          result: status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : status < 500 ? 'invalid' : 'error',
          status,
          details,
        } as const;
        // one INSERT: no transaction of its own on PostgreSQL; on SQLite it joins the group commit
        await plane.writes.runStatement((trx) => writeAuditIn(trx, record));
      } catch (err) {
        req.log.error({ err }, 'writing the audit record failed');
        throw err;
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    plane.metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    const started = req.startedAt;
    if (started) plane.metrics.duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
  });
}

/** Mounts every route onto the control plane: the token-authenticated API under /api/v1, the signed webhooks and the dashboard outside it. */
async function mountRoutes(app: FastifyInstance, plane: ControlPlane, options: ServerOptions): Promise<void> {
  await registerHealthRoutes(app, plane);
  await app.register(async (api) => {
    registerAccessHook(api, plane.auth);
    await registerEventRoutes(api, plane);
    await registerChangeRoutes(api, plane);
    await registerFleetRoutes(api, plane);
    await registerAppRoutes(api, plane);
    await registerSettingsRoutes(api, plane);
    await registerAuthRoutes(api, plane);
    await registerLiveRoutes(api, plane);
    await registerDashboardRoutes(api, plane);
    await registerReleaseRoutes(api, { storage: plane.storage, flighting: plane.flighting });
    await registerFreezeRoutes(api, { storage: plane.storage, flighting: plane.flighting });
    await registerAlertRoutes(api, plane.flighting);
    await registerNotificationRoutes(api, plane.notifier);
    await registerDriftRoutes(api, { storage: plane.storage, flighting: plane.flighting, drift: plane.drift });
    await registerOperationRoutes(api, { flighting: plane.flighting });
    await registerRequestRoutes(api, plane.requests);
  }, { prefix: '/api/v1' });
  await registerTicketWebhook(app, plane.requests, options.requests?.ticketWebhookSecret);
  await registerWebRoutes(app);
  await registerWebhookRoutes(app, plane, options.webhooks);
}

/** Builds the HTTP API on a control plane (opening and migrating the database unless given one); call `app.listen` or use startServer. */
export async function createServer(options: ServerOptions = {}): Promise<RingmasterServer> {
  const app = createApp(options);
  // before any route: every route gets the contract's checks as it is registered
  const contract = installContract(app, { validateResponses: options.validateResponses });
  const routes = collectRoutes(app);
  const plane = await createControlPlane({ ...options, log: app.log });
  // the control plane stops after the HTTP layer: in-flight requests finish, open streams end, then the engine and the storage
  app.addHook('onClose', async () => plane.close());
  installParsing(app);
  installAuditAndMetrics(app, plane);
  await mountRoutes(app, plane, options);
  return {
    app,
    storage: plane.storage,
    plane,
    routes,
    contract,
    record: async (events, source = 'ringmaster') => plane.record(events.map((ev) => ({ ...parseInput(eventInputSchema, ev), source }))),
    close: () => app.close(),
  };
}

export interface StartOptions extends ServerOptions {
  host?: string;
  port?: number;
}

/** Creates the server and listens; `url` is the base URL (e.g. http://127.0.0.1:7420). */
export async function startServer(options: StartOptions = {}): Promise<RingmasterServer & { url: string }> {
  const server = await createServer(options);
  try {
    await server.app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 7420 });
  } catch (err) {
    await server.close();
    throw err;
  }
  const addr = server.app.server.address();
  const url = typeof addr === 'object' && addr ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  // the release link of notifications: the URL the server listens on unless a public URL was given
  if (server.plane.notifier && !server.plane.notifier.publicUrl) server.plane.notifier.publicUrl = url;
  return { ...server, url };
}

export type { FastifyReply };
