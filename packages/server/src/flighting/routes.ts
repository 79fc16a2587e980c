import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventInput } from '../ingest/event-schema.ts';
import type { Storage } from '../storage/storage.ts';
import { NotFoundError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import { paramOf } from '../http/access.ts';
import { createContext, type FlightingContext, type FlightingOptions, type Logger } from './context.ts';
import { FlightEngine } from './engine.ts';
import { FlightStore } from './store.ts';
import {
  abortRelease, actionBody, approveBody, approveRing, createRelease, createReleaseBody, getRelease, listReleases, listReleasesQuery,
  pauseRelease, resumeRelease, rollbackRelease,
} from './releases.ts';

/** Flighting as the server runs it: the shared context and the engine loop. */
export interface Flighting {
  ctx: FlightingContext;
  engine: FlightEngine;
}

/** Starts flighting on an open storage (the engine loop runs unless options.engine is false). */
export function startFlighting(storage: Storage, options: FlightingOptions, record: (events: EventInput[]) => Promise<unknown>, log: Logger, manifestRepository?: string): Flighting {
  const ctx = createContext(storage, options, record, log, manifestRepository);
  const engine = new FlightEngine(ctx);
  if (options.engine !== false) engine.start();
  return { ctx, engine };
}

export interface ReleaseRouteDeps {
  storage: Storage;
  /** Started by the control plane; undefined without flighting options. */
  flighting?: Flighting;
}

/** Engine and release metrics, read when Prometheus scrapes (nothing is kept twice). */
export function registerFlightingMetrics(registry: Registry, flighting: Flighting, storage: Storage): void {
  const stats = flighting.engine.stats;
  new Counter({ name: 'ringmaster_flighting_cluster_steps_total', help: 'Cluster steps finished (succeeded or failed) by the engine', registers: [registry], collect() {
    this.reset();
    this.inc(stats.steps);
  } });
  new Counter({ name: 'ringmaster_flighting_action_seconds_total', help: 'Time spent in cluster actions (all of it, Git and Kubernetes included)', registers: [registry], collect() {
    this.reset();
    this.inc(stats.actionMs / 1000);
  } });
  new Counter({ name: 'ringmaster_flighting_io_seconds_total', help: 'Time cluster actions waited for Git and Kubernetes', registers: [registry], collect() {
    this.reset();
    this.inc(stats.ioMs / 1000);
  } });
  new Gauge({ name: 'ringmaster_flighting_releases', help: 'Releases by state', labelNames: ['state'], registers: [registry], async collect() {
    const rows = await new FlightStore(storage).countByState();
    this.reset();
    for (const r of rows) this.set({ state: r.state }, r.n);
  } });
}

/**
 * The release API under /api/v1 (register inside the authenticated scope). Without flighting options,
 * the routes answer 404 with how to enable flighting.
 */
export async function registerReleaseRoutes(api: FastifyInstance, deps: ReleaseRouteDeps): Promise<void> {
  const { flighting } = deps;
  const need = (): Flighting => {
    if (!flighting) throw new NotFoundError('flighting is not configured on this server: start it with a fleet repo and a manifest repo (see docs/flighting.md)');
    return flighting;
  };
  const act = async (fn: (ctx: FlightingContext) => Promise<unknown>) => {
    const f = need();
    const out = await fn(f.ctx);
    f.engine.wake();
    return out;
  };

  // the release's apps and rings are known once the fleet is rendered: createRelease checks the scope over them
  api.post('/releases', { config: { role: 'deployer' } }, async (req, reply) => {
    const body = parseInput(createReleaseBody, req.body);
    req.audit = { target: `release@${body.revision}`, details: { revision: body.revision, image: body.image } };
    const f = need();
    const rel = await createRelease(f.ctx, body, req.principal!);
    req.audit = { target: `release/${rel.id}`, details: { revision: rel.revision, image: rel.image, summary: rel.summary } };
    f.engine.wake();
    return reply.status(201).send(rel);
  });
  api.get('/releases', { config: { role: 'viewer' } }, async (req) => {
    return listReleases(need().ctx, parseInput(listReleasesQuery, req.query, ['query']));
  });
  api.get<{ Params: { id: string } }>('/releases/:id', { config: { role: 'viewer' } }, async (req) => {
    return getRelease(need().ctx, req.params.id);
  });
  api.get<{ Params: { id: string } }>('/releases/:id/events', { config: { role: 'viewer' } }, async (req) => {
    await getRelease(need().ctx, req.params.id);
    const rows = await new FlightStore(deps.storage).events(req.params.id);
    return {
      events: rows.map((e) => ({
        id: e.id, kind: e.kind, status: e.status, ring: e.ring, cluster: e.cluster, instance: e.instance, commit: e.commit_sha, author: e.author,
        occurredAt: new Date(e.occurred_at).toISOString(), data: e.data ? (JSON.parse(e.data) as unknown) : null,
      })),
    };
  });
  // actions on a release check the scope over the apps and rings it touches where they load it (authorizeRelease)
  const approveAudit = (req: FastifyRequest) => {
    const body = parseInput(approveBody, req.body ?? {});
    req.audit = { target: `release/${paramOf(req, 'id')}`, details: { ring: body.ring } };
    return body;
  };
  api.post<{ Params: { id: string } }>('/releases/:id/approve', { config: { role: 'approver', audit: approveAudit } }, async (req) => {
    const body = approveAudit(req);
    return act((ctx) => approveRing(ctx, req.params.id, req.principal!, body.ring, body.comment));
  });
  const releaseAudit = (req: FastifyRequest) => {
    req.audit = { target: `release/${paramOf(req, 'id')}` };
  };
  const actionAudit = (req: FastifyRequest) => {
    const body = parseInput(actionBody, req.body ?? {});
    req.audit = { target: `release/${paramOf(req, 'id')}`, details: body.reason ? { reason: body.reason } : undefined };
    return body;
  };
  for (const [action, fn] of [['pause', pauseRelease], ['resume', resumeRelease]] as const) {
    api.post<{ Params: { id: string } }>(`/releases/:id/${action}`, { config: { role: 'deployer', audit: releaseAudit } }, async (req) => {
      return act((ctx) => fn(ctx, req.params.id, req.principal!));
    });
  }
  for (const [action, fn] of [['abort', abortRelease], ['rollback', rollbackRelease]] as const) {
    api.post<{ Params: { id: string } }>(`/releases/:id/${action}`, { config: { role: 'deployer', audit: actionAudit } }, async (req) => {
      const body = actionAudit(req);
      return act((ctx) => fn(ctx, req.params.id, req.principal!, body.reason));
    });
  }
}
