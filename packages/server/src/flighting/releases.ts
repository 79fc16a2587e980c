import { randomBytes } from 'node:crypto';
import { git, GitError, resolveRevision, type Cluster, type Fleet } from '@ringmaster/fleet';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { CreateReleaseInput, listReleasesQuery, ReleaseView, StepView } from '@ringmaster/api';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import { requireScopes, type Principal, type Role, type Scope } from '../auth/roles.ts';
import type { FlightingContext } from './context.ts';
import { isTerminal, phaseText, resolvePolicy, WRITE, type ImageOverride, type ResolvedPolicy, type StepDelivery, type StepInstance } from './model.ts';
import type { RenderedRelease } from './render.ts';
import { recordFleetClusters } from '../journey/clusters.ts';
import { FlightStore, type NewRing } from './store.ts';
import { checkMetricGates } from './measure.ts';
import { MeasurementStore } from './measurement-store.ts';
import { measuringPastSoak, metricGateViews, type Measurement } from './metric-gate.ts';
import { admit, waitsFor, type ActiveRelease } from './concurrency.ts';
import { activeReleases, markSuperseded, replan } from './concurrency-store.ts';
import type { DeliveredTable } from './tables.ts';
import type { Release, ReleaseSummary, Ring, Step, Wave } from './steps.ts';
import { FreezeStore } from './freezes.ts';
import { currentHold } from './holds.ts';
import { AlertStore, alertView } from './alert-store.ts';

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

/** The fleet-repo commit a revision names; the clone is fetched once when it does not know it (yet). */
async function resolveSha(ctx: FlightingContext, revision: string): Promise<string> {
  try {
    return await resolveRevision(ctx.options.fleetRepo, revision).catch(async (err: unknown) => {
      // the clone may lag behind the fleet repo's remote: fetch once, then ask again
      if (!(err instanceof GitError)) throw err;
      await git(ctx.options.fleetRepo, ['fetch', '--quiet', '--all']).catch(() => undefined);
      return resolveRevision(ctx.options.fleetRepo, revision);
    });
  } catch (err) {
    if (err instanceof GitError) throw new InputError(`revision "${revision}" is not a commit of the fleet repo: ${err.message}`, 'revision');
    throw err;
  }
}

/** What a release changes per cluster: every instance whose render differs from what the manifest repo holds, and what it prunes. */
function changesOf(rendered: RenderedRelease, delivered: Array<Selectable<DeliveredTable>>, only: Set<string> | null): { byCluster: Map<string, StepInstance[]>; skipped: string[] } {
  const held = new Map(delivered.map((d) => [`${d.cluster}\0${d.instance}`, d]));
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
    if (!rendered.fleet.clusters.has(d.cluster)) {
      skipped.push(`${d.cluster}/${d.instance}`);
      continue;
    }
    add(d.cluster, { instance: d.instance, app: d.app, namespace: d.namespace, action: 'delete', digest: '', previousRelease: d.release_id, previousDigest: d.digest });
  }
  return { byCluster, skipped };
}

function summaryOf(fleet: Fleet, byCluster: Map<string, StepInstance[]>, skipped: string[]): ReleaseSummary {
  const all = [...byCluster.values()].flat();
  const count = (action: StepInstance['action']) => all.filter((i) => i.action === action).length;
  return {
    instances: all.length, clusters: byCluster.size,
    rings: Object.fromEntries(fleet.rings.map((r) => [r.name, [...byCluster.keys()].filter((c) => fleet.clusters.get(c)!.ring === r.name).length])),
    actions: { create: count('create'), update: count('update'), delete: count('delete') },
    apps: [...new Set(all.map((i) => i.app))].sort(), skipped,
  };
}

/** The rows of a release's rollout: per ring its resolved policy, its waves, and one pending step per cluster. */
function rolloutRows(id: string, fleet: Fleet, byCluster: Map<string, StepInstance[]>, now: number): NewRing[] {
  let position = 0;
  return fleet.rings.map((ring, r) => {
    const policy = resolvePolicy(ring.policy);
    const clusters = [...byCluster.keys()].map((c) => fleet.clusters.get(c)!).filter((c) => c.ring === ring.name);
    return {
      row: { release_id: id, ring: ring.name, position: r, state: 'pending', policy: JSON.stringify(policy), approved_by: null, approved_at: null, started_at: null, finished_at: null },
      waves: wavesOf(clusters, policy).map((wave, w) => ({
        row: { release_id: id, ring: ring.name, wave: w, label: wave.label, state: 'pending', started_at: null, deadline_at: null, soak_until: null, finished_at: null },
        steps: wave.clusters.map((c) => ({
          release_id: id, step: 'deliver', cluster: c, ring: ring.name, wave: w, position: position++, delivery: JSON.stringify(deliveryOf(fleet.clusters.get(c)!)),
          state: 'pending', phase: phaseText(WRITE), instances: JSON.stringify(byCluster.get(c)!.sort((a, b) => (a.instance < b.instance ? -1 : 1))),
          manifest_commit: null, reason: null, started_at: null, deadline_at: null, finished_at: null, updated_at: now,
        })),
      })),
    };
  });
}

/**
 * Creates a release: validates and renders the revision (refusing it with the fleet's issues and
 * writing nothing), compares every instance's render with what the manifest repo holds, and
 * persists the rollout (rings, waves, cluster steps) in one transaction.
 */
export async function createRelease(ctx: FlightingContext, input: CreateReleaseInput, principal: Principal): Promise<ReleaseView> {
  const store = storeOf(ctx);
  const sha = await resolveSha(ctx, input.revision);
  const override: ImageOverride | null = input.image ?? null;
  const rendered = await ctx.renderer.render(sha, override, { validate: true });
  const fleet = rendered.fleet;
  const { byCluster, skipped } = changesOf(rendered, await store.delivered(), input.instances ? new Set(input.instances) : null);
  // a deployer scoped to some apps or rings may release only changes inside its scope
  requireScopes(principal, 'deployer', [...byCluster].flatMap(([cluster, insts]) => insts.map((i) => ({ app: i.app, ring: fleet.clusters.get(cluster)!.ring }))));

  await checkMetricGates(ctx, fleet);

  const now = ctx.now();
  const id = releaseId(now);
  const summary = summaryOf(fleet, byCluster, skipped);
  // a release overlapping an active one (a shared app) queues behind it or supersedes it, by the apps' policy
  const admitted = admit(summary.apps, await activeReleases(ctx.storage.db), (app) => fleet.apps.get(app)?.release?.overlap ?? 'queue');
  await store.insertRelease({
    id, revision: sha, override: override ? JSON.stringify(override) : null, state: admitted.state, phase: 'rollout', paused: 0, reason: null,
    message: input.message ?? null, created_by: principal.name, created_at: now, updated_at: now, finished_at: null, summary: JSON.stringify(summary),
    superseded_by: null, only_instances: input.instances ? JSON.stringify(input.instances) : null,
  }, rolloutRows(id, fleet, byCluster, now));
  await markSuperseded(ctx.storage.db, admitted.supersede, id, now);
  // the journey takes clusters' regions and labels from the fleet model, as this release sees it
  await recordFleetClusters(ctx.storage.db, fleet, now).catch((err: Error) => ctx.log.warn({ err: err.message }, 'recording the fleet\'s clusters failed'));
  await ctx.record([{ kind: 'release', release: id, commit: sha, status: 'created', message: input.message, author: principal.name, idempotencyKey: `release:${id}:created`, ...(override ? { app: override.app, image: override.image } : {}), data: { summary } }]).catch((err: Error) => ctx.log.warn({ err: err.message }, 'recording the release event failed'));
  return getRelease(ctx, id);
}

/**
 * Takes a queued release out of the queue: its plan is made again against what the manifest repo
 * holds now (the releases it waited for have delivered, or stopped, since), so it delivers exactly
 * what is left; then it is pending and starts.
 */
export async function dequeueRelease(ctx: FlightingContext, rel: Release): Promise<void> {
  const rendered = await ctx.renderer.render(rel.revision, rel.override, { validate: true });
  // never more than it planned when it was created: its creator was authorised for those apps and
  // rings, and its overlap with other releases was judged on them
  const planned = new Set((await storeOf(ctx).stepTargets(rel.id)).flatMap((r) => r.instances.map((i) => i.instance)));
  const { byCluster, skipped } = changesOf(rendered, await storeOf(ctx).delivered(), planned);
  const now = ctx.now();
  await replan(ctx.storage.db, rel.id, JSON.stringify(summaryOf(rendered.fleet, byCluster, skipped)), rolloutRows(rel.id, rendered.fleet, byCluster, now), now);
}

/** The store of the release actions: through the shared storage (the engine writes through its own, fenced one). */
const storeOf = (ctx: FlightingContext): FlightStore => new FlightStore(ctx.storage);

async function load(ctx: FlightingContext, id: string): Promise<Release> {
  const rel = await storeOf(ctx).release(id);
  if (!rel) throw new NotFoundError(`no release "${id}"`);
  return rel;
}

/** Every (app, ring) a release touches — or, with `ring`, touches in that ring — over its delivery and rollback steps. */
async function targetsOf(ctx: FlightingContext, id: string, ring?: string): Promise<Scope[]> {
  const pairs = new Map<string, Scope>();
  for (const r of await storeOf(ctx).stepTargets(id, ring)) {
    for (const i of r.instances) pairs.set(`${i.app}\0${r.ring}`, { app: i.app, ring: r.ring });
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
  const rel = await load(ctx, id);
  const rings = await storeOf(ctx).rings(id);
  const ring = ringName ? rings.find((r) => r.ring === ringName) : rings.find((r) => r.state === 'waiting_for_approval') ?? rings.find((r) => r.state === 'pending' && r.policy.approval === 'manual' && !r.approvedBy);
  if (!ring) throw new InputError(ringName ? `release ${id} has no ring "${ringName}" (rings: ${rings.map((r) => r.ring).join(', ')})` : `release ${id} has no ring waiting for approval`, 'ring');
  // refusals are kept in the audit only: a caller without the right must not be able to write here
  await authorizeRelease(ctx, principal, 'approver', id, ring.ring);
  const now = ctx.now();
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state}; there is nothing to approve`);
  if (ring.approvedBy) throw new ConflictError(`ring ${ring.ring} of release ${id} was approved by ${ring.approvedBy} already`);
  if (ring.state !== 'pending' && ring.state !== 'waiting_for_approval') throw new ConflictError(`ring ${ring.ring} of release ${id} is ${ring.state}; only a ring that has not started can be approved`);
  await storeOf(ctx).approve(id, ring.ring, principal.name, comment ?? null, now);
  await ctx.record([{ kind: 'promotion.step', release: id, ring: ring.ring, status: 'approved', author: principal.name, idempotencyKey: `release:${id}:ring:${ring.ring}:approved`, ...(comment ? { message: comment } : {}) }]).catch(() => undefined);
  return getRelease(ctx, id);
}

export async function pauseRelease(ctx: FlightingContext, id: string, principal: Principal): Promise<ReleaseView> {
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state}; it cannot be paused`);
  if (rel.phase === 'rollback') throw new ConflictError(`release ${id} is rolling back; a rollback is not paused`);
  const now = ctx.now();
  await storeOf(ctx).setRelease(id, now, { paused: true, state: rel.state === 'waiting_for_approval' ? rel.state : 'paused' });
  // a journey event, so the timeline shows who paused and open dashboards update at once
  await ctx.record([{ kind: 'release', release: id, commit: rel.revision, status: 'paused', author: principal.name, idempotencyKey: `release:${id}:paused:${now}` }]).catch(() => undefined);
  return getRelease(ctx, id);
}

export async function resumeRelease(ctx: FlightingContext, id: string, principal: Principal): Promise<ReleaseView> {
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (!rel.paused) throw new ConflictError(`release ${id} is not paused (state ${rel.state})`);
  const now = ctx.now();
  await storeOf(ctx).setRelease(id, now, { paused: false, state: rel.state === 'paused' ? 'in_progress' : rel.state });
  await ctx.record([{ kind: 'release', release: id, commit: rel.revision, status: 'resumed', author: principal.name, idempotencyKey: `release:${id}:resumed:${now}` }]).catch(() => undefined);
  return getRelease(ctx, id);
}

export async function abortRelease(ctx: FlightingContext, id: string, principal: Principal, reason?: string): Promise<ReleaseView> {
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (isTerminal(rel.state)) throw new ConflictError(`release ${id} is ${rel.state} already`);
  await storeOf(ctx).abort(id, `aborted by ${principal.name}${reason ? `: ${reason}` : ''}`, ctx.now());
  await ctx.record([{ kind: 'release', release: id, commit: rel.revision, status: 'aborted', author: principal.name, idempotencyKey: `release:${id}:aborted` }]).catch(() => undefined);
  return getRelease(ctx, id);
}

/** Re-delivers what each touched instance held before this release; refused when a later release changed them since. */
export async function rollbackRelease(ctx: FlightingContext, id: string, principal: Principal, reason?: string): Promise<ReleaseView> {
  const store = storeOf(ctx);
  const rel = await load(ctx, id);
  await authorizeRelease(ctx, principal, 'deployer', id);
  if (rel.phase === 'rollback') throw new ConflictError(`release ${id} is ${rel.state === 'in_progress' ? 'rolling back already' : `${rel.state} (rolled back before)`}`);
  const touched = (await store.steps(id, 'deliver')).filter((s) => s.manifestCommit !== null);
  if (touched.length === 0) throw new ConflictError(`release ${id} has not written to any cluster; abort it instead`);
  const later = await store.deliveredByOthers(id, touched.map((s) => s.cluster));
  const moved = later.filter((d) => touched.some((s) => s.cluster === d.cluster && s.instances.some((i) => i.instance === d.instance)));
  if (moved.length) throw new ConflictError(`a later release changed ${moved.slice(0, 5).map((d) => `${d.cluster}/${d.instance} (${d.release_id})`).join(', ')}; roll that release back first`);
  await store.startRollback(id, `rollback by ${principal.name}${reason ? `: ${reason}` : ''}`, ctx.now());
  return getRelease(ctx, id);
}

/** What a release waits for (queued: the earlier overlapping releases still active) and the release that supersedes it. */
function concurrencyView(rel: Release, active: ActiveRelease[]): { waitsFor: string[]; supersededBy: string | null } {
  return { waitsFor: rel.state === 'queued' ? waitsFor({ id: rel.id, createdAt: rel.createdAt, apps: rel.summary.apps }, active) : [], supersededBy: rel.supersededBy ?? null };
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

function stepView(s: Step): StepView {
  return {
    cluster: s.cluster, ring: s.ring, wave: s.wave, mode: s.delivery.mode, state: s.state, phase: phaseText(s.phase), manifestCommit: s.manifestCommit,
    reason: s.reason, startedAt: iso(s.startedAt), deadlineAt: iso(s.deadlineAt), finishedAt: iso(s.finishedAt), instances: s.instances,
  };
}

/** What a ring waits for now: approval, soak (until), wave (clusters in flight), paused, or null. */
function gateOf(rel: Release, ring: Ring, waves: Wave[]): ReleaseView['rings'][number]['gate'] {
  const soaking = waves.find((w) => w.state === 'soaking');
  if (ring.state === 'waiting_for_approval') return { kind: 'approval' };
  if (isTerminal(ring.state) || ring.state === 'pending') return null;
  if (rel.paused) return { kind: 'paused' };
  if (soaking) return { kind: 'soak', until: iso(soaking.soakUntil)! };
  return { kind: 'wave' };
}

/** The ring a freeze or a closed window holds shows that gate (window: when it opens; freeze: why). */
const withHold = (held: ReturnType<typeof currentHold>) => (v: ReleaseView['rings'][number]): ReleaseView['rings'][number] => {
  if (!held || held.ring !== v.ring) return v;
  const h = held.hold;
  return { ...v, gate: h.gate === 'window' ? { kind: 'window', opensAt: iso(h.opensAt) } : { kind: 'freeze', reason: h.reason } };
};

function ringView(rel: Release, r: Ring, waves: Wave[], deliver: Step[], measurements: Measurement[] = [], now = Date.now()): ReleaseView['rings'][number] {
  const rw = waves.filter((w) => w.ring === r.ring);
  const gate = gateOf(rel, r, rw);
  return {
    ...(r.policy.metrics?.length ? { metrics: metricGateViews(r.ring, r.policy.metrics, measurements) } : {}),
    ring: r.ring, position: r.position, state: r.state, policy: r.policy,
    approval: { required: r.policy.approval === 'manual', approvedBy: r.approvedBy, approvedAt: iso(r.approvedAt) },
    gate: gate?.kind === 'soak' && measuringPastSoak(r.policy, rw, now) ? { kind: 'metrics' } : gate, failures: deliver.filter((s) => s.ring === r.ring && s.state === 'failed').length,
    startedAt: iso(r.startedAt), finishedAt: iso(r.finishedAt),
    waves: rw.map((w) => ({
      wave: w.wave, label: w.label, state: w.state, startedAt: iso(w.startedAt), deadlineAt: iso(w.deadlineAt), soakUntil: iso(w.soakUntil), finishedAt: iso(w.finishedAt),
      clusters: deliver.filter((s) => s.ring === r.ring && s.wave === w.wave).map(stepView),
    })),
  };
}

/** A release with its rings, waves, cluster steps, gates, timers and approvals. */
export async function getRelease(ctx: FlightingContext, id: string): Promise<ReleaseView> {
  const store = storeOf(ctx);
  const rel = await load(ctx, id);
  const [rings, waves, steps, approvals, measurements, holds, alerts] = await Promise.all([store.rings(id), store.waves(id), store.steps(id), store.approvals(id), new MeasurementStore(ctx.storage).list(id), new FreezeStore(ctx.storage).facts(id), new AlertStore(ctx.storage).alerts(id)]);
  const deliver = steps.filter((s) => s.step === 'deliver');
  const rollback = steps.filter((s) => s.step === 'rollback');
  const count = (state: string) => deliver.filter((s) => s.state === state).length;
  const active = await activeReleases(ctx.storage.db);
  return {
    ...concurrencyView(rel, active),
    id: rel.id, revision: rel.revision, image: rel.override, state: rel.state, phase: rel.phase, paused: rel.paused, reason: rel.reason, message: rel.message,
    createdBy: rel.createdBy, createdAt: iso(rel.createdAt)!, updatedAt: iso(rel.updatedAt)!, finishedAt: iso(rel.finishedAt), summary: rel.summary,
    progress: { clusters: deliver.length, succeeded: count('succeeded'), failed: count('failed'), inFlight: count('in_progress'), pending: count('pending') },
    rings: rings.map((r) => ringView(rel, r, waves, deliver, measurements, ctx.now())).map(withHold(currentHold({ release: rel, rings, waves, deliver }, holds, ctx.now()))),
    rollback: rollback.length ? { clusters: rollback.map(stepView) } : null,
    approvals: approvals.map((a) => ({ ring: a.ring, actor: a.actor, at: iso(a.at)!, result: a.result, reason: a.reason })),
    overrides: holds.overrides.map((o) => ({ ...o, at: iso(o.at)! })),
    alerts: alerts.map(alertView),
  };
}

/** Releases, newest first; `before` is the createdAt (epoch ms) cursor of the previous page. */
export async function listReleases(ctx: FlightingContext, q: z.infer<typeof listReleasesQuery>) {
  const rows = await storeOf(ctx).list(q);
  const page = rows.slice(0, q.limit);
  const active = await activeReleases(ctx.storage.db);
  return {
    releases: page.map((r) => ({
      id: r.id, revision: r.revision, image: r.override, state: r.state, phase: r.phase, paused: r.paused, reason: r.reason, message: r.message,
      createdBy: r.createdBy, createdAt: iso(r.createdAt), finishedAt: iso(r.finishedAt), summary: r.summary, ...concurrencyView(r, active),
    })),
    nextBefore: rows.length > q.limit ? page[page.length - 1]!.createdAt : null,
  };
}
