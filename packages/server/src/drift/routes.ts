import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adoptBody, driftName, driftQuery, healBody, type DriftInstance } from '@ringmaster/api';
import { FleetValidationError, GitError, RenderToolError } from '@ringmaster/fleet';
import { KubeError } from '@ringmaster/kube';
import type { Storage } from '../storage/storage.ts';
import { isScoped } from '../auth/roles.ts';
import { paramOf, perRequest } from '../http/access.ts';
import { ConflictError, NotFoundError, ServerError, UnavailableError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import type { Flighting } from '../flighting/routes.ts';
import { eventInputSchema } from '../ingest/event-schema.ts';
import { adoptDrift } from './adopt.ts';
import type { DriftDetector } from './detector.ts';
import { listDrift, type DriftRecord } from './store.ts';

// The drift API's queries and bodies are the contract's (@ringmaster/api).
export { adoptBody, driftQuery, healBody } from '@ringmaster/api';
const name = driftName;

/** Instances with drift, each with its drifted objects and fields: what `drift list` shows. */
export function groupDrift(records: DriftRecord[]): DriftInstance[] {
  const out = new Map<string, DriftInstance>();
  for (const r of records) {
    const k = `${r.cluster}\0${r.instance}`;
    let g = out.get(k);
    if (!g) out.set(k, (g = { cluster: r.cluster, instance: r.instance, app: r.app, ring: r.ring, release: r.release, objects: 0, fields: [] }));
    g.fields.push(r);
  }
  for (const g of out.values()) g.objects = new Set(g.fields.map((f) => `${f.object.apiVersion}/${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}`)).size;
  return [...out.values()];
}

/** Errors of the parts a drift action uses (clusters, Git, the fleet) as answers, never a 500. */
function asAnswer(err: unknown): never {
  if (err instanceof ServerError) throw err;
  if (err instanceof FleetValidationError) throw new ConflictError(`the fleet repo does not load: ${err.message}`);
  if (err instanceof KubeError) throw new UnavailableError(`the cluster did not accept the change: ${err.message}`, { cause: err });
  if (err instanceof GitError || err instanceof RenderToolError) throw new UnavailableError(`the fleet repo could not be written: ${err.message}`, { cause: err });
  throw new UnavailableError(`the action did not finish: ${(err as Error).message}`, { cause: err });
}

export interface DriftRouteDeps {
  storage: Storage;
  flighting?: Flighting;
  /** Started by the control plane when flighting runs. */
  drift?: DriftDetector;
}

/** Where a drift action acts: the detector's target on the acting replica, or what the acting one stored. */
function driftTargets(deps: DriftRouteDeps) {
  const f = deps.flighting;
  const detector = deps.drift;
  const targetFor = (instance: string, cluster: string | undefined) => {
    if (!f || !detector) throw new NotFoundError('drift detection is not running on this server: start it with flighting (a fleet repo and a manifest repo, see docs/flighting.md)');
    if (!detector.acting) throw new UnavailableError('this replica does not hold the engine lease: the replica that holds it watches and heals drift; try again (another replica answers)');
    const t = detector.targetOf(instance, cluster);
    if (!t) throw new NotFoundError(`instance ${instance}${cluster ? ` on cluster ${cluster}` : ''} is not delivered by Ringmaster (see GET /api/v1/drift)`);
    return t;
  };

  /** An instance's cluster, app, ring and release from its stored drift (on a replica that does not act). */
  const storedTarget = async (instance: string, cluster: string | undefined) => {
    const rows = await listDrift(deps.storage.db, { instance, ...(cluster ? { cluster } : {}), limit: 1 });
    const r = rows[0];
    if (!r) throw new ConflictError(`instance ${instance}${cluster ? ` on cluster ${cluster}` : ''} has no drift to adopt`);
    return { cluster: r.cluster, app: r.app, ring: r.ring, releaseId: r.release };
  };
  return { targetFor, storedTarget };
}

/** The drift API under /api/v1 (inside the authenticated scope). */
export async function registerDriftRoutes(api: FastifyInstance, deps: DriftRouteDeps): Promise<void> {
  const f = deps.flighting;
  const detector = deps.drift;

  api.get('/drift', { config: { role: 'viewer' } }, async (req) => {
    const p = req.principal!;
    const q = parseInput(driftQuery, req.query, ['query']);
    // a scoped token sees the drift of its apps and rings only
    const scope = isScoped(p) ? { apps: p.apps, rings: p.rings } : {};
    const records = await listDrift(deps.storage.db, { ...q, ...scope });
    return {
      detection: detector ? { running: true, acting: detector.acting, ...detector.stats } : { running: false },
      instances: groupDrift(records),
    };
  });

  const { targetFor, storedTarget } = driftTargets(deps);

  const healInput = (req: FastifyRequest) => {
    const instance = parseInput(name, paramOf(req, 'instance'), ['instance']);
    const body = parseInput(healBody, req.body ?? {});
    req.audit = { target: `instance/${instance}`, details: { action: 'heal', cluster: body.cluster, reason: body.reason } };
    return { instance, body };
  };
  const healTarget = perRequest((req) => {
    const { instance, body } = healInput(req);
    return { instance, body, t: targetFor(instance, body.cluster) };
  });
  const healScope = async (req: FastifyRequest) => {
    const { t } = await healTarget(req);
    return [{ app: t.app, ring: t.ring }];
  };
  api.post('/drift/:instance/heal', { config: { role: 'deployer', scope: healScope, audit: healInput } }, async (req) => {
    const { instance, body, t } = await healTarget(req);
    const out = await detector!.heal(t, req.principal!.name).catch(asAnswer);
    req.audit = { target: `instance/${instance}`, details: { action: 'heal', cluster: t.cluster, reason: body.reason, fields: out.healed.length } };
    return { instance, cluster: t.cluster, mode: t.mode, healed: out.healed };
  });

  const adoptInput = (req: FastifyRequest) => {
    const instance = parseInput(name, paramOf(req, 'instance'), ['instance']);
    const body = parseInput(adoptBody, req.body ?? {});
    req.audit = { target: `instance/${instance}`, details: { action: 'adopt', cluster: body.cluster, reason: body.reason } };
    return { instance, body };
  };
  const adoptTarget = perRequest(async (req) => {
    const { instance, body } = adoptInput(req);
    // adopt writes the fleet repo, not the cluster: a replica that does not act adopts what the acting one stored
    const t = detector && !detector.acting ? await storedTarget(instance, body.cluster) : targetFor(instance, body.cluster);
    return { instance, body, t };
  });
  const adoptScope = async (req: FastifyRequest) => {
    const { t } = await adoptTarget(req);
    return [{ app: t.app, ring: t.ring }];
  };
  api.post('/drift/:instance/adopt', { config: { role: 'deployer', scope: adoptScope, audit: adoptInput } }, async (req) => {
    const { instance, body, t } = await adoptTarget(req);
    const drift = await listDrift(deps.storage.db, { cluster: t.cluster, instance });
    if (!drift.length) throw new ConflictError(`instance ${instance} on cluster ${t.cluster} has no drift to adopt`);
    const result = await adoptDrift(instance, t.cluster, drift, { fleetRepo: f!.ctx.options.fleetRepo, base: body.base, actor: req.principal!.name, reason: body.reason, dryRun: body.dryRun }).catch(asAnswer);
    req.audit = { target: `instance/${instance}`, details: { action: 'adopt', cluster: t.cluster, reason: body.reason, commit: result.commit, branch: result.branch, dryRun: body.dryRun ?? false, changes: result.changes.map((c) => ({ object: c.object, path: c.path, layer: c.layer })) } };
    if (!body.dryRun) {
      await f!.ctx.record([eventInputSchema.parse({
        kind: 'drift', status: 'adopted', cluster: t.cluster, instance, app: t.app, ...(t.ring ? { ring: t.ring } : {}), release: t.releaseId, commit: result.commit,
        author: req.principal!.name, data: { branch: result.branch, changes: result.changes.map((c) => ({ object: c.object, path: c.path, layer: c.layer, live: c.live, desired: c.desired })) },
      })]).catch(() => undefined);
    }
    return result;
  });
}
