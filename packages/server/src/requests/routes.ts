import type { FastifyInstance, FastifyRequest } from 'fastify';
import { logsQuery, requestId } from '@ringmaster/api';
import { paramOf, perRequest } from '../http/access.ts';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import { verifyTicketWebhook } from '../outside/ticket-webhook.ts';
import { deliveryIdOf, fingerprint, header } from '../webhooks/receiver.ts';
import { cancelBody, createRequestBody, decisionBody, listRequestsQuery, REQUEST_TERMINAL, ticketWebhookBody, type RequestState } from './model.ts';
import { cancelRequest, createRequest, decide, type Requests } from './service.ts';
import { listRequests, loadRequest, logsOf, viewOf } from './store.ts';

const idParam = requestId;

/** The requests API under /api/v1 (inside the authenticated scope). */
export async function registerRequestRoutes(api: FastifyInstance, rq: Requests | undefined): Promise<void> {
  const need = (): Requests => {
    if (!rq) throw new NotFoundError('requests need flighting on this server (a fleet repo and a manifest repo, see docs/flighting.md)');
    return rq;
  };
  // a request's app and ring: from the stored request, or (creating one) once preflight resolved them in createRequest
  const stored = perRequest(async (req) => loadRequest(need().ctx.flighting.ctx.storage.db, parseInput(idParam, paramOf(req, 'id'), ['id'])));
  const storedScope = async (req: FastifyRequest) => {
    const r = await stored(req);
    return [{ app: r.row.app, ring: r.row.ring }];
  };

  api.post('/requests', { config: { role: 'deployer' } }, async (req, reply) => {
    const body = parseInput(createRequestBody, req.body ?? {});
    req.audit = { target: `instance/${body.name}`, details: { action: 'request.create', kind: body.kind, app: body.app, cluster: body.cluster, ticket: body.ticket, dryRun: body.dryRun ?? false, reason: body.reason } };
    const view = await createRequest(need(), body, req.principal!);
    if (view.id) req.audit = { target: `request/${view.id}`, details: { action: 'request.create', kind: body.kind, instance: view.instance, app: view.app, ring: view.ring, cluster: view.cluster, ticket: body.ticket, reason: body.reason } };
    return reply.status(body.dryRun ? 200 : 201).send(view);
  });
  api.get('/requests', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(listRequestsQuery, req.query, ['query']);
    return { requests: await listRequests(need().ctx.flighting.ctx.storage.db, q) };
  });
  api.get('/requests/:id', { config: { role: 'viewer', scope: storedScope } }, async (req) => {
    return viewOf(await stored(req));
  });
  for (const action of ['approve', 'reject'] as const) {
    const input = (req: FastifyRequest) => {
      const id = parseInput(idParam, paramOf(req, 'id'), ['id']);
      const body = parseInput(decisionBody, req.body ?? {});
      req.audit = { target: `request/${id}`, details: { action: `request.${action}`, comment: body.comment } };
      return { id, body };
    };
    // the request's app and ring are checked where it is loaded (decide), which also refuses approving one's own request
    api.post(`/requests/:id/${action}`, { config: { role: 'approver', audit: input } }, async (req) => {
      const { id, body } = input(req);
      return decide(need(), id, { state: action === 'approve' ? 'approved' : 'rejected', by: req.principal!.name, via: 'person', comment: body.comment }, req.principal!);
    });
  }
  const cancelInput = (req: FastifyRequest) => {
    const id = parseInput(idParam, paramOf(req, 'id'), ['id']);
    const body = parseInput(cancelBody, req.body ?? {});
    req.audit = { target: `request/${id}`, details: { action: 'request.cancel', reason: body.reason } };
    return { id, body };
  };
  api.post('/requests/:id/cancel', { config: { role: 'deployer', audit: cancelInput } }, async (req) => {
    const { id, body } = cancelInput(req);
    return cancelRequest(need(), id, req.principal!, body.reason);
  });
  api.get('/requests/:id/logs', { config: { role: 'viewer', scope: storedScope } }, async (req, reply) => {
    const id = (await stored(req)).row.id;
    const q = parseInput(logsQuery, req.query, ['query']);
    const db = need().ctx.flighting.ctx.storage.db;
    if (q.follow !== 'true') return { lines: (await logsOf(db, id)).map(({ id: _id, ...l }) => l) };
    return followLogs(rq!, id, req.raw, reply);
  });
}

/** Streams a request's log lines as NDJSON until it ends (or the client goes, or an hour passes). */
async function followLogs(rq: Requests, id: string, raw: NodeJS.ReadableStream & { on(e: 'close', f: () => void): unknown }, reply: import('fastify').FastifyReply): Promise<void> {
  const db = rq.ctx.flighting.ctx.storage.db;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  let gone = false;
  raw.on('close', () => {
    gone = true;
  });
  let after = 0;
  const until = Date.now() + 3600_000;
  try {
    while (!gone && Date.now() < until) {
      const lines = await logsOf(db, id, after);
      for (const { id: lineId, ...l } of lines) {
        res.write(JSON.stringify(l) + '\n');
        after = lineId;
      }
      const state = (await db.selectFrom('requests').select('state').where('id', '=', id).executeTakeFirst())?.state as RequestState | undefined;
      if (!state || (REQUEST_TERMINAL.has(state) && lines.length === 0)) break;
      await new Promise((r) => setTimeout(r, 300));
    }
  } catch (err) {
    rq.ctx.log.warn({ err: (err as Error).message, request: id }, 'requests: the log stream ended early');
  }
  res.end();
}

/**
 * POST /api/v1/webhooks/ticket: the ticketing system approves or rejects the requests of a ticket.
 * Signed (HMAC over timestamp and body, 300 s window), each delivery taken once: a forged, stale or
 * replayed delivery is refused and leaves nothing behind but the audit record of the refusal.
 */
export async function registerTicketWebhook(app: FastifyInstance, rq: Requests | undefined, secret: string | undefined): Promise<void> {
  app.post('/api/v1/webhooks/ticket', { config: { role: 'signed' } }, async (req) => {
    req.audit = { actor: 'webhook:ticket' };
    if (!secret) throw new NotFoundError('the ticket webhook is not configured on this server (set RINGMASTER_TICKET_WEBHOOK_SECRET)');
    const rawBody = req.rawBody ?? Buffer.alloc(0);
    verifyTicketWebhook(secret, req.headers, rawBody, Date.now());
    const delivery = deliveryIdOf(header(req.headers, 'x-ringmaster-delivery'), 'headers.x-ringmaster-delivery');
    const body = parseInput(ticketWebhookBody, req.body ?? {});
    if (!rq) throw new NotFoundError('requests need flighting on this server');
    const db = rq.ctx.flighting.ctx.storage.db;
    const print = fingerprint(rawBody);
    const seen = await db.selectFrom('ticket_deliveries').select('delivery_id').where((eb) => eb.or([eb('delivery_id', '=', delivery), eb('fingerprint', '=', print)])).executeTakeFirst();
    if (seen) throw new ConflictError(`ticket webhook delivery ${seen.delivery_id} was received already: a replay changes nothing`);
    let q = db.selectFrom('requests').select(['id', 'state', 'ticket']).where('state', '=', 'awaiting_approval');
    q = body.request ? q.where('id', '=', body.request) : q.where('ticket', '=', body.ticket!);
    const waiting = (await q.execute()).filter((r) => !body.ticket || r.ticket === body.ticket);
    if (!waiting.length) throw new NotFoundError(`no request ${body.request ? `"${body.request}"` : `of ticket "${body.ticket}"`} awaits approval`);
    if (waiting.length > 20) throw new InputError(`ticket ${body.ticket} names ${waiting.length} requests; name one with "request"`, 'request');
    await db.insertInto('ticket_deliveries').values({ delivery_id: delivery, fingerprint: print, received_at: Date.now() }).execute().catch(() => {
      throw new ConflictError(`ticket webhook delivery ${delivery} was received already: a replay changes nothing`);
    });
    const by = `ticket:${body.by ?? 'ticketing'}`;
    const decided = [];
    for (const w of waiting) decided.push(await decide(rq, w.id, { state: body.state, by, via: 'ticket', comment: body.comment }));
    req.audit = { actor: 'webhook:ticket', target: `ticket/${body.ticket ?? body.request}`, details: { delivery, state: body.state, by: body.by, requests: decided.map((d) => d.id) } };
    return { delivery, state: body.state, requests: decided.map((d) => ({ id: d.id, state: d.state })) };
  });
}
