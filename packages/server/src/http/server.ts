import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { openStorage, type Storage, type StorageOptions } from '../storage/storage.ts';
import { eventBatchSchema, eventInputSchema, type EventInput, type JourneyEvent } from '../ingest/event-schema.ts';
import { recordEvents, type RecordOptions } from '../journey/record.ts';
import { loadSettings, saveSettings, type JourneySettings } from '../journey/settings.ts';
import type { ImageIntroductionFinder } from '../journey/introduction.ts';
import { contacts, fleetSummary, getChange, listChanges, listFleet } from '../journey/queries.ts';
import { dora, predictChange } from '../journey/predict.ts';
import { requireRole, type Principal } from '../auth/roles.ts';
import { createToken, listTokens, revokeToken, TokenAuthenticator } from '../auth/tokens.ts';
import { listAudit, writeAuditIn } from '../auth/audit.ts';
import { authorizeEvents } from '../auth/event-scope.ts';
import { WriteQueue } from '../storage/write-queue.ts';
import { AppDirectory } from '../journey/app-directory.ts';
import { githubReceiver } from '../webhooks/github.ts';
import { gitlabReceiver } from '../webhooks/gitlab.ts';
import { azureReceiver, type AzureWebhookAuth } from '../webhooks/azure.ts';
import { fingerprint, type WebhookReceiver } from '../webhooks/receiver.ts';
import { deliveryBody } from '../webhooks/payload.ts';
import { InputError, NotFoundError, UnauthenticatedError } from '../errors.ts';
import { parseInput, toHttpError } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { REDACTED_LOG_PATHS, requestForLog } from './log-redaction.ts';
import { liveFeed, registerLiveRoutes } from './routes-live.ts';
import { registerDashboardRoutes } from './routes-dashboard.ts';
import { registerWebRoutes } from './routes-web.ts';
import { installContract, SERVER_VERSION, type Contract } from './contract.ts';
import * as s from './schemas.ts';
import { registerReleaseRoutes } from '../flighting/routes.ts';
import type { FlightingOptions } from '../flighting/context.ts';
import { registerDriftRoutes } from '../drift/routes.ts';
import { registerOperationRoutes } from '../operations/routes.ts';
import type { DriftOptions } from '../drift/detector.ts';
import type { RequestOptions } from '../requests/context.ts';
import { registerRequestRoutes, registerTicketWebhook, startRequests } from '../requests/routes.ts';
import type { Requests } from '../requests/service.ts';


export interface ServerOptions extends StorageOptions {
  /** An already open storage (the server then does not close it). */
  storage?: Storage;
  /** false for silence, or a pino level; logs are JSON lines on stdout. */
  logLevel?: false | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Where log lines go (default stdout); tests capture them here. */
  logStream?: { write(line: string): void };
  /** Largest accepted request body in bytes (413 above it). Default 1 MiB. */
  bodyLimit?: number;
  webhooks?: { github?: { secret: string }; gitlab?: { token: string }; azure?: AzureWebhookAuth };
  /** Finds the fleet-repo change that introduces an image (from the rendered plan). */
  finder?: ImageIntroductionFinder;
  /** Journey settings applied (and saved) at start; unset fields keep their stored value. */
  settings?: Partial<JourneySettings>;
  /** Honour X-Forwarded-For for the audit's client address (behind a reverse proxy). */
  trustProxy?: boolean;
  /** Releases and delivery (docs/flighting.md); without it the release API answers 404. */
  flighting?: FlightingOptions;
  /** Drift detection of what flighting delivered (on by default with flighting): audit logs, refresh period. */
  drift?: DriftOptions;
  /** The requests API (docs/requests.md): DNS provider, ticketing webhook, the inbound ticket webhook's secret. Runs with flighting. */
  requests?: RequestOptions;
  /** Check every JSON answer against the API contract (tests): a mismatch answers 500 naming the field. */
  validateResponses?: boolean;
}

export interface RingmasterServer {
  app: FastifyInstance;
  storage: Storage;
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
  }
}

const SETTINGS_TTL_MS = 5000;
const DAY = 86_400_000;

/** Builds the HTTP API on an open (or newly opened and migrated) database; call `app.listen` or use startServer. */
export async function createServer(options: ServerOptions = {}): Promise<RingmasterServer> {
  // a server that opens its own SQLite database runs the engine on it: one such process per data folder
  const storage = options.storage ?? (await openStorage({ ...options, exclusive: options.exclusive ?? true }));
  const ownsStorage = !options.storage;
  const metrics = createMetrics();
  const auth = new TokenAuthenticator(storage);
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const writes = new WriteQueue(storage);
  const directory = new AppDirectory();

  let settings = await loadSettings(storage.db);
  if (options.settings) {
    settings = { ...settings, ...Object.fromEntries(Object.entries(options.settings).filter(([, v]) => v !== undefined)) };
    await saveSettings(storage.db, settings);
  }
  let settingsAt = Date.now();
  // Another replica (PostgreSQL) may change settings; re-read them now and then.
  const currentSettings = async () => {
    if (Date.now() - settingsAt > SETTINGS_TTL_MS) {
      settings = await loadSettings(storage.db);
      settingsAt = Date.now();
    }
    return settings;
  };

  const app = Fastify({
    bodyLimit,
    trustProxy: options.trustProxy ?? false,
    logger: options.logLevel === false ? false : {
      level: options.logLevel ?? 'info',
      redact: REDACTED_LOG_PATHS,
      serializers: { req: requestForLog },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
  });

  const contract = installContract(app, { validateResponses: options.validateResponses });

  const record = async (events: JourneyEvent[], delivery?: RecordOptions['delivery']) => {
    const result = await recordEvents(storage, events, {
      settings: await currentSettings(), finder: options.finder, delivery, transaction: writes.run, directory,
      onFinderError: (err) => app.log.warn({ err: (err as Error).message }, 'finding image introductions in the fleet repo failed'),
    });
    events.forEach((ev, i) => {
      if (!('duplicate' in result.events[i]!)) metrics.events.inc({ kind: ev.kind, source: ev.source });
    });
    liveFeed(storage).recorded(events, result);
    return result;
  };

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

  app.addHook('onRequest', async (req) => {
    (req as any).startedAt = process.hrtime.bigint();
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
        await writes.runStatement((trx) => writeAuditIn(trx, record));
      } catch (err) {
        req.log.error({ err }, 'writing the audit record failed');
        throw err;
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    const started = (req as any).startedAt as bigint | undefined;
    if (started) metrics.duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
  });

  const authenticate = async (req: FastifyRequest) => {
    const h = req.headers.authorization;
    if (!h) throw new UnauthenticatedError();
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
    const principal = await auth.authenticate(m[1]!);
    if (!principal) throw new UnauthenticatedError('the bearer token is unknown or revoked');
    req.principal = principal;
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/api/v1/version', async () => ({ version: SERVER_VERSION }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await storage.db.selectFrom('settings').select('key').limit(1).execute();
      return { status: 'ready', database: storage.dialect };
    } catch {
      return reply.status(503).send({ error: { code: 'RINGMASTER_STORAGE', message: 'the database does not answer' } });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  // the requests runner starts inside the API scope; the ticket webhook (outside it: signed, no token) finds it here
  const requests: { current?: Requests } = {};
  await app.register(async (api) => {
    api.addHook('preHandler', authenticate);

    api.post('/events', async (req, reply) => {
      const body = req.body as any;
      const inputs: EventInput[] = body && typeof body === 'object' && !Array.isArray(body) && 'events' in body
        ? parseInput(eventBatchSchema, body).events
        : [parseInput(eventInputSchema, body)];
      await authorizeEvents(storage.db, req.principal!, inputs);
      const result = await record(inputs.map((ev) => ({ ...ev, source: 'api' })));
      req.audit = { target: `events(${inputs.length})`, details: { stored: result.stored, duplicates: result.duplicates } };
      return reply.status(result.stored > 0 ? 201 : 200).send({ stored: result.stored, duplicates: result.duplicates, events: result.events });
    });

    api.get('/changes', async (req) => {
      requireRole(req.principal!, 'viewer');
      const q = parseInput(s.changesQuery, req.query, ['query']);
      return listChanges(storage, q, { limit: q.limit, cursor: q.cursor }, { notAdoptedAfterMs: (await currentSettings()).notAdoptedAfterMs });
    });
    api.get<{ Params: { id: string } }>('/changes/:id', async (req) => {
      requireRole(req.principal!, 'viewer');
      return getChange(storage, req.params.id, { notAdoptedAfterMs: (await currentSettings()).notAdoptedAfterMs });
    });
    api.get<{ Params: { id: string } }>('/changes/:id/eta', async (req) => {
      requireRole(req.principal!, 'viewer');
      return predictChange(storage, req.params.id, await currentSettings());
    });
    api.get('/fleet', async (req) => {
      requireRole(req.principal!, 'viewer');
      const q = parseInput(s.fleetQuery, req.query, ['query']);
      return listFleet(storage, q, { limit: q.limit, cursor: q.cursor });
    });
    api.get('/fleet/summary', async (req) => {
      requireRole(req.principal!, 'viewer');
      return { clusters: await fleetSummary(storage, parseInput(s.fleetSummaryQuery, req.query, ['query'])) };
    });
    api.get('/contacts', async (req) => {
      requireRole(req.principal!, 'viewer');
      const q = parseInput(s.contactsQuery, req.query, ['query']);
      return { ring: q.ring, contacts: await contacts(storage, { ring: q.ring, from: q.from, to: q.to ?? Date.now(), limit: q.limit }) };
    });
    api.get('/dora', async (req) => {
      requireRole(req.principal!, 'viewer');
      const q = parseInput(s.doraQuery, req.query, ['query']);
      if (q.app && q.team) throw new InputError('give either app or team, not both', 'query.team');
      const to = q.to ?? Date.now();
      const from = q.from ?? to - 30 * DAY;
      if (from >= to) throw new InputError('from must be before to', 'query.from');
      return dora(storage, { app: q.app, team: q.team, ring: q.ring, from, to }, await currentSettings());
    });

    api.get('/apps', async (req) => {
      requireRole(req.principal!, 'viewer');
      const [apps, repos] = await Promise.all([
        storage.db.selectFrom('apps').selectAll().orderBy('app').limit(10_000).execute(),
        storage.db.selectFrom('app_repositories').selectAll().execute(),
      ]);
      return {
        apps: apps.map((a) => ({
          app: a.app, team: a.team, contacts: a.contacts ? (JSON.parse(a.contacts) as string[]) : [],
          repositories: repos.filter((r) => r.app === a.app).map((r) => r.repository),
        })),
      };
    });
    api.put<{ Params: { app: string } }>('/apps/:app', async (req) => {
      requireRole(req.principal!, 'admin');
      const appName = parseInput(s.appName, req.params.app, ['app']);
      const body = parseInput(s.appBody, req.body);
      req.audit = { target: `app/${appName}` };
      const now = Date.now();
      directory.clear();
      await storage.db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom('apps').selectAll().where('app', '=', appName).executeTakeFirst();
        const team = body.team === undefined ? existing?.team ?? null : body.team;
        const contactsJson = body.contacts === undefined ? existing?.contacts ?? null : JSON.stringify(body.contacts);
        await trx.insertInto('apps').values({ app: appName, team, contacts: contactsJson, updated_at: now })
          .onConflict((oc) => oc.column('app').doUpdateSet({ team, contacts: contactsJson, updated_at: now })).execute();
        if (body.repositories) {
          await trx.deleteFrom('app_repositories').where('app', '=', appName).execute();
          for (const repository of body.repositories) {
            await trx.insertInto('app_repositories').values({ repository, app: appName })
              .onConflict((oc) => oc.column('repository').doUpdateSet({ app: appName })).execute();
          }
        }
        // the team is denormalised onto changes so that team filters and DORA stay index lookups
        if (body.team !== undefined) {
          await trx.updateTable('changes').set({ team }).where('app', '=', appName).execute();
          await trx.updateTable('change_rings').set({ team }).where('app', '=', appName).execute();
          await trx.updateTable('incidents').set({ team }).where('app', '=', appName).execute();
        }
      });
      directory.clear(); // again: a request in flight may have cached the old mapping meanwhile
      return { app: appName, team: body.team ?? null, repositories: body.repositories, contacts: body.contacts };
    });

    api.get('/settings', async (req) => {
      requireRole(req.principal!, 'viewer');
      return currentSettings();
    });
    api.put('/settings', async (req) => {
      requireRole(req.principal!, 'admin');
      const body = parseInput(s.settingsBody, req.body);
      req.audit = { target: 'settings', details: body };
      settings = { ...(await loadSettings(storage.db)), ...body };
      await saveSettings(storage.db, settings);
      settingsAt = Date.now();
      return settings;
    });

    api.post('/tokens', async (req, reply) => {
      requireRole(req.principal!, 'admin');
      const body = parseInput(s.tokenBody, req.body);
      req.audit = { target: `token/${body.name}`, details: { role: body.role, apps: body.apps, rings: body.rings } };
      const created = await createToken(storage, { ...body, createdBy: req.principal!.name });
      return reply.status(201).send({ token: created.token, ...created.info });
    });
    api.get('/tokens', async (req) => {
      requireRole(req.principal!, 'admin');
      return { tokens: await listTokens(storage) };
    });
    api.delete<{ Params: { id: string } }>('/tokens/:id', async (req, reply) => {
      requireRole(req.principal!, 'admin');
      req.audit = { target: `token/${req.params.id}` };
      await revokeToken(storage, req.params.id);
      auth.forget();
      return reply.status(204).send();
    });
    api.get('/audit', async (req) => {
      requireRole(req.principal!, 'admin');
      const q = parseInput(s.auditQuery, req.query, ['query']);
      return { entries: await listAudit(storage, q) };
    });
    await registerLiveRoutes(api, { storage });
    await registerDashboardRoutes(api, { storage, settings: currentSettings });
    const flighting = await registerReleaseRoutes(api, { storage, options: options.flighting, record: (evs) => record(evs.map((ev) => ({ ...ev, source: 'ringmaster' }))), manifestRepository: settings.manifestRepository, registry: metrics.registry });
    await registerDriftRoutes(api, { storage, flighting, options: options.drift, registry: metrics.registry });
    await registerOperationRoutes(api, { flighting });
    requests.current = startRequests({ flighting, options: options.requests, fleetRepository: settings.fleetRepository, log: api.log });
    await registerRequestRoutes(api, requests.current);
  }, { prefix: '/api/v1' });
  await registerTicketWebhook(app, requests, options.requests?.ticketWebhookSecret);
  await registerWebRoutes(app);

  // a Map: a source named `__proto__` or `toString` must find nothing, not Object.prototype's members
  const receivers = new Map<string, WebhookReceiver>();
  if (options.webhooks?.github) receivers.set('github', githubReceiver(options.webhooks.github.secret));
  if (options.webhooks?.gitlab) receivers.set('gitlab', gitlabReceiver(options.webhooks.gitlab.token));
  if (options.webhooks?.azure) receivers.set('azure', azureReceiver(options.webhooks.azure));
  app.post<{ Params: { source: string } }>('/api/v1/webhooks/:source', async (req, reply) => {
    const source = req.params.source;
    req.audit = { actor: `webhook:${source}` };
    const receiver = receivers.get(source);
    if (!receiver) throw new NotFoundError(`the ${source} webhook is not configured on this server`);
    const rawBody = req.rawBody ?? Buffer.alloc(0);
    try {
      receiver.verify(req.headers, rawBody);
    } catch (err) {
      metrics.deliveries.inc({ source, result: 'refused' });
      throw err;
    }
    const payload = parseInput(deliveryBody, req.body);
    const deliveryId = receiver.deliveryId(req.headers, payload);
    const inputs = receiver.translate(req.headers, payload).map((ev, i) => parseInput(eventInputSchema, ev, [`translated.${i}`]));
    const result = await record(inputs.map((ev) => ({ ...ev, source, deliveryId })), { source, id: deliveryId, fingerprint: fingerprint(rawBody) });
    metrics.deliveries.inc({ source, result: result.duplicateDelivery ? 'duplicate' : 'stored' });
    req.audit = { actor: `webhook:${source}`, target: `delivery/${deliveryId}`, details: { stored: result.stored, duplicate: result.duplicateDelivery } };
    return reply.status(result.duplicateDelivery ? 200 : 202).send({ delivery: deliveryId, duplicate: result.duplicateDelivery, stored: result.stored });
  });

  return {
    app,
    storage,
    contract,
    record: async (events, source = 'ringmaster') => record(events.map((ev) => ({ ...parseInput(eventInputSchema, ev), source }))),
    async close() {
      await app.close();
      if (ownsStorage) await storage.close();
    },
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
  return { ...server, url };
}

export type { FastifyReply };
