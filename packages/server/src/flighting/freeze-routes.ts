import type { FastifyInstance, FastifyRequest } from 'fastify';
import { endFreezeBody, overrideReleaseBody, startFreezeBody, type FreezeStatus, type ReleaseView } from '@ringmaster/api';
import { ConflictError, NotFoundError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import { paramOf } from '../http/access.ts';
import type { Storage } from '../storage/storage.ts';
import type { Principal } from '../auth/roles.ts';
import type { FlightingContext } from './context.ts';
import { FreezeStore } from './freezes.ts';
import type { Freeze } from './holds.ts';
import { isTerminal } from './model.ts';
import { getRelease } from './releases.ts';
import { FlightStore } from './store.ts';
import type { Flighting } from './routes.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

function statusOf(f: Freeze | null): FreezeStatus {
  return {
    active: !!f && f.endedAt === null,
    freeze: f ? { id: f.id, reason: f.reason, startedBy: f.startedBy, startedAt: iso(f.startedAt)!, endedBy: f.endedBy, endedAt: iso(f.endedAt), endReason: f.endReason } : null,
  };
}

/** Lets one release pass its windows or the freeze: an admin's act, recorded with the reason. */
export async function overrideRelease(ctx: FlightingContext, id: string, principal: Principal, gate: 'window' | 'freeze', reason: string): Promise<ReleaseView> {
  const rel = await new FlightStore(ctx.storage).release(id);
  if (!rel) throw new NotFoundError(`no release "${id}"`);
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state}: there is nothing left to let pass`);
  await new FreezeStore(ctx.storage).override(id, gate, principal.name, reason, ctx.now());
  return getRelease(ctx, id);
}

/**
 * The organisation-wide freeze (GET, POST /freeze; POST /freeze/end or DELETE /freeze) and the
 * override of one release (POST /releases/:id/override). Starting and ending a freeze needs an
 * approver; an override needs an admin. The freeze lives in the database; ending it wakes the engine.
 */
export async function registerFreezeRoutes(api: FastifyInstance, deps: { storage: Storage; flighting?: Flighting }): Promise<void> {
  const store = new FreezeStore(deps.storage);
  const now = () => deps.flighting?.ctx.now() ?? Date.now();

  api.get('/freeze', { config: { role: 'viewer' } }, async () => statusOf(await store.latest()));

  // the audit target is named before the role check (a refusal is recorded against it); the body is read after it
  const audit = (target: string) => (req: FastifyRequest) => {
    req.audit = { target: target.replace(':id', paramOf(req, 'id')) };
  };
  api.post('/freeze', { config: { role: 'approver', audit: audit('freeze') } }, async (req, reply) => {
    const body = parseInput(startFreezeBody, req.body ?? {});
    req.audit = { target: 'freeze', details: { reason: body.reason } };
    const started = await store.start(body.reason, req.principal!.name, now());
    if (!started) {
      const active = await store.active();
      throw new ConflictError(`a freeze is in force already (since ${iso(active?.startedAt ?? null)}, by ${active?.startedBy}: ${active?.reason}); end it first`);
    }
    req.audit = { target: `freeze/${started.id}`, details: { reason: body.reason } };
    deps.flighting?.engine.wake();
    return reply.status(201).send(statusOf(started));
  });

  const end = async (req: FastifyRequest) => {
    const body = parseInput(endFreezeBody, req.body ?? {});
    const ended = await store.end(req.principal!.name, body.reason ?? null, now());
    if (!ended) throw new ConflictError('no freeze is in force');
    req.audit = { target: `freeze/${ended.id}`, details: body.reason ? { reason: body.reason } : undefined };
    // held releases resume at once
    deps.flighting?.engine.wake();
    return statusOf(ended);
  };
  api.post('/freeze/end', { config: { role: 'approver', audit: audit('freeze') } }, end);
  api.delete('/freeze', { config: { role: 'approver', audit: audit('freeze') } }, end);

  api.post<{ Params: { id: string } }>('/releases/:id/override', { config: { role: 'admin', audit: audit('release/:id') } }, async (req) => {
    const body = parseInput(overrideReleaseBody, req.body ?? {});
    req.audit = { target: `release/${req.params.id}`, details: { gate: body.gate, reason: body.reason } };
    if (!deps.flighting) throw new NotFoundError('flighting is not configured on this server: start it with a fleet repo and a manifest repo (see docs/flighting.md)');
    const view = await overrideRelease(deps.flighting.ctx, req.params.id, req.principal!, body.gate, body.reason);
    deps.flighting.engine.wake();
    return view;
  });
}
