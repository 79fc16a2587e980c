import { randomBytes } from 'node:crypto';
import { git, GitError, resolveRevision, type Cluster } from '@ringmaster/fleet';
import type { z } from 'zod';
import type { CreateReleaseInput, listReleasesQuery, ReleaseView, StepView } from '@ringmaster/api';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import { requireScopes, type Principal, type Role, type Scope } from '../auth/roles.ts';
import type { FlightingContext } from './context.ts';
import { startRollback } from './engine.ts';
import { isTerminal, resolvePolicy, TERMINAL_STATES, type ImageOverride, type ResolvedPolicy, type StepDelivery, type StepInstance } from './model.ts';
import { toRelease, toStep, type Release, type ReleaseSummary, type Step } from './steps.ts';

// The bodies and queries of the release API are the contract's (@ringmaster/api).
export { createReleaseBody, listReleasesQuery, approveReleaseBody as approveBody, releaseActionBody as actionBody, type CreateReleaseInput } from '@ringmaster/api';
export type { ReleaseView, StepView } from '@ringmaster/api';

function releaseId(now: number): string {
  const d = new Date(now).toISOString();
  return `r${d.slice(0, 10).replaceAll('-', '')}-${d.slice(11, 19).replaceAll(':', '')}-${randomBytes(3).toString('hex')}`;
}

/** How a cluster receives releases, with the defaults filled in. */
export function deliveryOf(c: Cluster): StepDelivery {
  if (c.delivery.mode === 'argocd') {
    return { mode: 'argocd', namespace: c.delivery.argocd?.namespace ?? 'argocd', project: c.delivery.argocd?.project ?? 'default', destination: c.delivery.argocd?.destination ?? c.name, region: c.region };
  }
  return { mode: 'direct', ...(c.delivery.direct?.context ? { context: c.delivery.direct.context } : {}), region: c.region };
}

/** Splits a ring's clusters into waves by its policy: fixed size, one wave per label value, or all at once. */
export function wavesOf(clusters: Cluster[], policy: ResolvedPolicy): Array<{ label: string | null; clusters: string[] }> {
  const names = clusters.map((c) => c.name).sort();
  if ('size' in policy.waves) {
    const size = policy.waves.size;
    const out = [];
    for (let i = 0; i < names.length; i += size) out.push({ label: null, clusters: names.slice(i, i + size) });
    return out;
  }
  if ('byLabel' in policy.waves) {
    const key = policy.waves.byLabel;
    const groups = new Map<string, string[]>();
    for (const c of [...clusters].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const v = c.labels?.[key] ?? '';
      groups.set(v, [...(groups.get(v) ?? []), c.name]);
    }
    // clusters without the label go last, after every labelled wave
    const values = [...groups.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b, undefined, { numeric: true })));
    return values.map((v) => ({ label: v === '' ? `${key} (unset)` : `${key}=${v}`, clusters: groups.get(v)! }));
  }
  return names.length ? [{ label: null, clusters: names }] : [];
}

/**
 * Creates a release: validates and renders the revision (refusing it with the fleet's issues and
 * writing nothing), compares every instance's render with what the manifest repo holds, and
 * persists the rollout (rings, waves, cluster steps) in one transaction.
 */
export async function createRelease(ctx: FlightingContext, input: CreateReleaseInput, principal: Principal): Promise<ReleaseView> {
  const db = ctx.storage.db;
  let sha: string;
  try {
    sha = await resolveRevision(ctx.options.fleetRepo, input.revision).catch(async (err: unknown) => {
      // the clone may lag behind the fleet repo's remote: fetch once, then ask again
      if (!(err instanceof GitError)) throw err;
      await git(ctx.options.fleetRepo, ['fetch', '--quiet', '--all']).catch(() => undefined);
      return resolveRevision(ctx.options.fleetRepo, input.revision);
    });
  } catch (err) {
    if (err instanceof GitError) throw new InputError(`revision "${input.revision}" is not a commit of the fleet repo: ${err.message}`, 'revision');
    throw err;
  }
  const override: ImageOverride | null = input.image ?? null;
  const rendered = await ctx.renderer.render(sha, override, { validate: true });
  const fleet = rendered.fleet;
  const delivered = await db.selectFrom('delivered').selectAll().execute();
  const held = new Map(delivered.map((d) => [`${d.cluster}\0${d.instance}`, d]));

  const only = input.instances ? new Set(input.instances) : null;
  const byCluster = new Map<string, StepInstance[]>();
  const add = (cluster: string, i: StepInstance) => byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), i]);
  for (const [name, inst] of rendered.instances) {
    if (only && !only.has(name)) continue;
    const digest = rendered.digests.get(name)!;
    const before = held.get(`${inst.cluster}\0${name}`);
    if (before?.digest === digest) continue;
    add(inst.cluster, { instance: name, app: inst.app, namespace: inst.namespace, action: before ? 'update' : 'create', digest, previousRelease: before?.release_id ?? null, previousDigest: before?.digest ?? null });
  }
  const skipped: string[] = [];
  for (const d of delivered) {
    if (only && !only.has(d.instance)) continue;
    const inst = rendered.instances.get(d.instance);
    if (inst && inst.cluster === d.cluster) continue;
    if (!fleet.clusters.has(d.cluster)) {
      skipped.push(`${d.cluster}/${d.instance}`);
      continue;
    }
    add(d.cluster, { instance: d.instance, app: d.app, namespace: d.namespace, action: 'delete', digest: '', previousRelease: d.release_id, previousDigest: d.digest });
  }

  const apps = [...new Set([...byCluster.values()].flat().map((i) => i.app))].sort();
  // a deployer scoped to some apps or rings may release only changes inside its scope
  requireScopes(principal, 'deployer', [...byCluster].flatMap(([cluster, insts]) => insts.map((i) => ({ app: i.app, ring: fleet.clusters.get(cluster)!.ring }))));

  const active = await db.selectFrom('releases').select(['id', 'state']).where('state', 'not in', [...TERMINAL_STATES]).executeTakeFirst();
  if (active) throw new ConflictError(`release ${active.id} is ${active.state}; finish, abort or roll it back before creating another`);

  const now = ctx.now();
  const id = releaseId(now);
  const all = [...byCluster.values()].flat();
  const summary: ReleaseSummary = {
    instances: all.length, clusters: byCluster.size,
    rings: Object.fromEntries(fleet.rings.map((r) => [r.name, [...byCluster.keys()].filter((c) => fleet.clusters.get(c)!.ring === r.name).length])),
    actions: { create: all.filter((i) => i.action === 'create').length, update: all.filter((i) => i.action === 'update').length, delete: all.filter((i) => i.action === 'delete').length },
    apps, skipped,
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('releases').values({
      id, revision: sha, override: override ? JSON.stringify(override) : null, state: 'pending', phase: 'rollout', paused: 0, reason: null,
      message: input.message ?? null, created_by: principal.name, created_at: now, updated_at: now, finished_at: null, summary: JSON.stringify(summary),
    }).execute();
    let position = 0;
    for (const [r, ring] of fleet.rings.entries()) {
      const policy = resolvePolicy(ring.policy);
      await trx.insertInto('release_rings').values({ release_id: id, ring: ring.name, position: r, state: 'pending', policy: JSON.stringify(policy), approved_by: null, approved_at: null, started_at: null, finished_at: null }).execute();
      const clusters = [...byCluster.keys()].map((c) => fleet.clusters.get(c)!).filter((c) => c.ring === ring.name);
      for (const [w, wave] of wavesOf(clusters, policy).entries()) {
        await trx.insertInto('release_waves').values({ release_id: id, ring: ring.name, wave: w, label: wave.label, state: 'pending', started_at: null, deadline_at: null, soak_until: null, finished_at: null }).execute();
        const rows = wave.clusters.map((c) => ({
          release_id: id, step: 'deliver', cluster: c, ring: ring.name, wave: w, position: position++, delivery: JSON.stringify(deliveryOf(fleet.clusters.get(c)!)),
          state: 'pending', phase: 'write', instances: JSON.stringify(byCluster.get(c)!.sort((a, b) => (a.instance < b.instance ? -1 : 1))),
          manifest_commit: null, reason: null, started_at: null, deadline_at: null, finished_at: null, updated_at: now,
        }));
        for (let i = 0; i < rows.length; i += 200) await trx.insertInto('release_steps').values(rows.slice(i, i + 200)).execute();
      }
    }
  });
  await ctx.record([{ kind: 'release', release: id, commit: sha, status: 'created', message: input.message, author: principal.name, idempotencyKey: `release:${id}:created`, ...(override ? { app: override.app, image: override.image } : {}), data: { summary } }]).catch((err: Error) => ctx.log.warn({ err: err.message }, 'recording the release event failed'));
  return getRelease(ctx, id);
}

async function load(ctx: FlightingContext, id: string): Promise<Release> {
  const row = await ctx.storage.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError(`no release "${id}"`);
  return toRelease(row);
}

/** Every (app, ring) a release touches — or, with `ring`, touches in that ring — over its delivery and rollback steps. */
async function targetsOf(ctx: FlightingContext, id: string, ring?: string): Promise<Scope[]> {
  let q = ctx.storage.db.selectFrom('release_steps').select(['ring', 'instances']).where('release_id', '=', id);
  if (ring) q = q.where('ring', '=', ring);
  const pairs = new Map<string, Scope>();
  for (const r of await q.execute()) {
    for (const i of JSON.parse(r.instances) as StepInstance[]) pairs.set(`${i.app}\0${r.ring}`, { app: i.app, ring: r.ring });
  }
  if (ring && pairs.size === 0) return [{ ring }];
  return [...pairs.values()];
}

/**
 * The one authorisation of every action on an existing release (approve, pause, resume, abort, roll
 * back): the role, and the principal's scope over every app and ring the release (or the ring) touches.
 */
export async function authorizeRelease(ctx: FlightingContext, principal: Principal, role: Role, id: string, ring?: string): Promise<void> {
  requireScopes(principal, role, []);
  requireScopes(principal, role, await targetsOf(ctx, id, ring));
}

/** Approves a ring (the one waiting, or `ring`): needs the approver role scoped to the ring and every app it changes. */
export async function approveRing(ctx: FlightingContext, id: string, principal: Principal, ringName?: string, comment?: string): Promise<ReleaseView> {
  const db = ctx.storage.db;
  const rel = await load(ctx, id);
  const rings = await db.selectFrom('release_rings').selectAll().where('release_id', '=', id).orderBy('position').execute();
  const ring = ringName ? rings.find((r) => r.ring === ringName) : rings.find((r) => r.state === 'waiting_for_approval') ?? rings.find((r) => r.state === 'pending' && (JSON.parse(r.policy) as ResolvedPolicy).approval === 'manual' && !r.approved_by);
  if (!ring) throw new InputError(ringName ? `release ${id} has no ring "${ringName}" (rings: ${rings.map((r) => r.ring).join(', ')})` : `release ${id} has no ring waiting for approval`, 'ring');
  // refusals are kept in the audit only: a caller without the right must not be able to write here
  await authorizeRelease(ctx, principal, 'approver', id, ring.ring);
  const now = ctx.now();
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state}; there is nothing to approve`);
  if (ring.approved_by) throw new ConflictError(`ring ${ring.ring} of release ${id} was approved by ${ring.approved_by} already`);
  if (!['pending', 'waiting_for_approval'].includes(ring.state)) throw new ConflictError(`ring ${ring.ring} of release ${id} is ${ring.state}; only a ring that has not started can be approved`);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('release_rings').set({ approved_by: principal.name, approved_at: now }).where('release_id', '=', id).where('ring', '=', ring.ring).execute();
    await trx.insertInto('release_approvals').values({ release_id: id, ring: ring.ring, actor: principal.name, at: now, result: 'approved', reason: comment ?? null }).execute();
  });
  await ctx.record([{ kind: 'promotion.step', release: id, ring: ring.ring, status: 'approved', author: principal.name, idempotencyKey: `release:${id}:ring:${ring.ring}:approved`, ...(comment ? { message: comment } : {}) }]).catch(() => undefined);
  return getRelease(ctx, id);
}

export async function pauseRelease(ctx: FlightingContext, id: string, principal: Principal): Promise<ReleaseView> {
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state}; it cannot be paused`);
  if (rel.phase === 'rollback') throw new ConflictError(`release ${id} is rolling back; a rollback is not paused`);
  const now = ctx.now();
  await ctx.storage.db.updateTable('releases').set({ paused: 1, state: rel.state === 'waiting_for_approval' ? rel.state : 'paused', updated_at: now }).where('id', '=', id).execute();
  // a journey event, so the timeline shows who paused and open dashboards update at once
  await ctx.record([{ kind: 'release', release: id, commit: rel.revision, status: 'paused', author: principal.name, idempotencyKey: `release:${id}:paused:${now}` }]).catch(() => undefined);
  return getRelease(ctx, id);
}

export async function resumeRelease(ctx: FlightingContext, id: string, principal: Principal): Promise<ReleaseView> {
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (!rel.paused) throw new ConflictError(`release ${id} is not paused (state ${rel.state})`);
  const now = ctx.now();
  await ctx.storage.db.updateTable('releases').set({ paused: 0, state: rel.state === 'paused' ? 'in_progress' : rel.state, updated_at: now }).where('id', '=', id).execute();
  await ctx.record([{ kind: 'release', release: id, commit: rel.revision, status: 'resumed', author: principal.name, idempotencyKey: `release:${id}:resumed:${now}` }]).catch(() => undefined);
  return getRelease(ctx, id);
}

export async function abortRelease(ctx: FlightingContext, id: string, principal: Principal, reason?: string): Promise<ReleaseView> {
  const db = ctx.storage.db;
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state} already`);
  const now = ctx.now();
  const why = `aborted by ${principal.name}${reason ? `: ${reason}` : ''}`;
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('release_steps').set({ state: 'aborted', updated_at: now }).where('release_id', '=', id).where('state', 'in', ['pending', 'in_progress']).execute();
    await trx.updateTable('release_waves').set({ state: 'aborted', finished_at: now }).where('release_id', '=', id).where('state', 'in', ['pending', 'in_progress', 'soaking']).execute();
    await trx.updateTable('release_rings').set({ state: 'aborted', finished_at: now }).where('release_id', '=', id).where('state', 'in', ['pending', 'in_progress', 'waiting_for_approval']).execute();
    await trx.updateTable('releases').set({ state: 'aborted', reason: why, updated_at: now, finished_at: now }).where('id', '=', id).execute();
  });
  await ctx.record([{ kind: 'release', release: id, commit: rel.revision, status: 'aborted', author: principal.name, idempotencyKey: `release:${id}:aborted` }]).catch(() => undefined);
  return getRelease(ctx, id);
}

/** Re-delivers what each touched instance held before this release; refused when a later release changed them since. */
export async function rollbackRelease(ctx: FlightingContext, id: string, principal: Principal, reason?: string): Promise<ReleaseView> {
  const db = ctx.storage.db;
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (rel.phase === 'rollback') throw new ConflictError(`release ${id} is ${rel.state === 'in_progress' ? 'rolling back already' : `${rel.state} (rolled back before)`}`);
  const touched = (await db.selectFrom('release_steps').selectAll().where('release_id', '=', id).where('step', '=', 'deliver').where('manifest_commit', 'is not', null).execute()).map(toStep);
  if (touched.length === 0) throw new ConflictError(`release ${id} has not written to any cluster; abort it instead`);
  const later = await db.selectFrom('delivered').select(['cluster', 'instance', 'release_id']).where('release_id', '!=', id)
    .where('cluster', 'in', touched.map((s) => s.cluster)).execute();
  const moved = later.filter((d) => touched.some((s) => s.cluster === d.cluster && s.instances.some((i) => i.instance === d.instance)));
  if (moved.length) throw new ConflictError(`a later release changed ${moved.slice(0, 5).map((d) => `${d.cluster}/${d.instance} (${d.release_id})`).join(', ')}; roll that release back first`);
  await startRollback(ctx, id, `rollback by ${principal.name}${reason ? `: ${reason}` : ''}`);
  return getRelease(ctx, id);
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function stepView(s: Step): StepView {
  return {
    cluster: s.cluster, ring: s.ring, wave: s.wave, mode: s.delivery.mode, state: s.state, phase: s.phase, manifestCommit: s.manifestCommit,
    reason: s.reason, startedAt: iso(s.startedAt), deadlineAt: iso(s.deadlineAt), finishedAt: iso(s.finishedAt), instances: s.instances,
  };
}

/** A release with its rings, waves, cluster steps, gates, timers and approvals. */
export async function getRelease(ctx: FlightingContext, id: string): Promise<ReleaseView> {
  const db = ctx.storage.db;
  const rel = await load(ctx, id);
  const [rings, waves, stepRows, approvals] = await Promise.all([
    db.selectFrom('release_rings').selectAll().where('release_id', '=', id).orderBy('position').execute(),
    db.selectFrom('release_waves').selectAll().where('release_id', '=', id).orderBy('wave').execute(),
    db.selectFrom('release_steps').selectAll().where('release_id', '=', id).orderBy('position').execute(),
    db.selectFrom('release_approvals').selectAll().where('release_id', '=', id).orderBy('id').execute(),
  ]);
  const steps = stepRows.map(toStep);
  const deliver = steps.filter((s) => s.step === 'deliver');
  const rollback = steps.filter((s) => s.step === 'rollback');
  return {
    id: rel.id, revision: rel.revision, image: rel.override, state: rel.state, phase: rel.phase, paused: rel.paused, reason: rel.reason, message: rel.message,
    createdBy: rel.createdBy, createdAt: iso(rel.createdAt)!, updatedAt: iso(rel.updatedAt)!, finishedAt: iso(rel.finishedAt), summary: rel.summary,
    progress: {
      clusters: deliver.length, succeeded: deliver.filter((s) => s.state === 'succeeded').length, failed: deliver.filter((s) => s.state === 'failed').length,
      inFlight: deliver.filter((s) => s.state === 'in_progress').length, pending: deliver.filter((s) => s.state === 'pending').length,
    },
    rings: rings.map((r) => {
      const policy = JSON.parse(r.policy) as ResolvedPolicy;
      const rw = waves.filter((w) => w.ring === r.ring);
      const soaking = rw.find((w) => w.state === 'soaking');
      const gate: ReleaseView['rings'][number]['gate'] = r.state === 'waiting_for_approval' ? { kind: 'approval' }
        : isTerminal(r.state) || r.state === 'pending' ? null
        : rel.paused ? { kind: 'paused' }
        : soaking ? { kind: 'soak', until: iso(soaking.soak_until)! }
        : { kind: 'wave' };
      return {
        ring: r.ring, position: r.position, state: r.state, policy,
        approval: { required: policy.approval === 'manual', approvedBy: r.approved_by, approvedAt: iso(r.approved_at) },
        gate, failures: deliver.filter((s) => s.ring === r.ring && s.state === 'failed').length,
        startedAt: iso(r.started_at), finishedAt: iso(r.finished_at),
        waves: rw.map((w) => ({
          wave: w.wave, label: w.label, state: w.state, startedAt: iso(w.started_at), deadlineAt: iso(w.deadline_at), soakUntil: iso(w.soak_until), finishedAt: iso(w.finished_at),
          clusters: deliver.filter((s) => s.ring === r.ring && s.wave === w.wave).map(stepView),
        })),
      };
    }),
    rollback: rollback.length ? { clusters: rollback.map(stepView) } : null,
    approvals: approvals.map((a) => ({ ring: a.ring, actor: a.actor, at: iso(a.at)!, result: a.result, reason: a.reason })),
  };
}

/** Releases, newest first; `before` is the createdAt (epoch ms) cursor of the previous page. */
export async function listReleases(ctx: FlightingContext, q: z.infer<typeof listReleasesQuery>) {
  let query = ctx.storage.db.selectFrom('releases').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit + 1);
  if (q.state) query = query.where('state', '=', q.state);
  if (q.before !== undefined) query = query.where('created_at', '<', q.before);
  const rows = await query.execute();
  const page = rows.slice(0, q.limit).map(toRelease);
  return {
    releases: page.map((r) => ({
      id: r.id, revision: r.revision, image: r.override, state: r.state, phase: r.phase, paused: r.paused, reason: r.reason, message: r.message,
      createdBy: r.createdBy, createdAt: iso(r.createdAt), finishedAt: iso(r.finishedAt), summary: r.summary,
    })),
    nextBefore: rows.length > q.limit ? page[page.length - 1]!.createdAt : null,
  };
}
