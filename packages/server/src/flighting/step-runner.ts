import { KubeUnreachableError, type KubeClient } from '@ringmaster/kube';
import type { RenderedInstance } from '@ringmaster/fleet';
import type { EventInput } from '../ingest/event-schema.ts';
import { driftPolicy } from '../drift/policy.ts';
import { withReleaseAnnotation } from '../delivery/release-annotation.ts';
import { ArgoCdAdapter } from './argocd-adapter.ts';
import { DirectAdapter } from './direct-adapter.ts';
import { stepKey, targetDigest, type AdapterDeps, type DeliveryAdapter, type StepOutcome } from './adapter.ts';
import type { FlightingContext } from './context.ts';
import { firstDeliveryPhase, phaseText, type StepInstance } from './model.ts';
import type { FlightStore, StepChange } from './store.ts';
import type { Release, Step } from './steps.ts';

/** Raised by a cluster action: the cluster failed (unreachable, Degraded, refused the objects). */
export class ClusterFailure extends Error {}

/** An action ran past actionTimeoutMs; it has been cancelled (its Git and Kubernetes calls aborted). */
export class ActionTimeout extends ClusterFailure {}

/** How long a cancelled action may take to stop (its git processes to exit) before the engine decides anyway. */
const CANCEL_GRACE_MS = 5000;
/** Longest wait between two attempts of a step whose cluster is unreachable (the first waits one poll interval). */
const MAX_BACKOFF_MS = 30_000;
/**
 * How long a just-delivered step must stay Degraded before it fails. Right after a rollback to an
 * earlier ReplicaSet the Deployment controller still reports the bad rollout's
 * ProgressDeadlineExceeded (and Argo CD, Degraded) until the old Pods are back; a real failure stays.
 */
const DEGRADED_CONFIRM_MS = 10_000;

/** Numbers the benchmark reads: time spent inside delivery actions vs. the whole engine. */
export interface EngineStats {
  /** Cluster steps finished (succeeded or failed). */
  steps: number;
  actions: number;
  /** Time inside cluster actions (sum over concurrent actions). */
  actionMs: number;
  /** Time waiting for Git and Kubernetes inside those actions (sum). */
  ioMs: number;
  /** Wall time inside tick(). */
  tickMs: number;
}

type Written = { commit: string; created: boolean; message: string };
type ActionResult = StepOutcome | { kind: 'written'; written: Written };

export interface StepRunnerDeps {
  ctx: FlightingContext;
  store: FlightStore;
  stats: EngineStats;
  /** Called after a step changed what is delivered. */
  delivered(): void;
  emit(events: EventInput[]): Promise<void>;
  pollMs: number;
  scale(ms: number): number;
}

/**
 * Runs cluster steps: each action under a deadline (cancelled through its signal past it), through
 * the step's delivery adapter; records what each action found (the adapters write nothing).
 */
export class StepRunner {
  /** Steps waiting for an unreachable cluster: attempts so far and when to try again. */
  private readonly backoff = new Map<string, { attempts: number; notBefore: number }>();
  /** When each in-flight step was first seen Degraded (in memory: a restarted engine confirms again). */
  private readonly degradedSince = new Map<string, number>();
  private readonly adapters: Record<Step['delivery']['mode'], DeliveryAdapter>;

  constructor(private readonly d: StepRunnerDeps) {
    const { ctx } = d;
    const deps: AdapterDeps = {
      client: (step, signal) => this.clientFor(step, signal),
      target: (rel, step, i) => this.target(rel, step, i),
      selfHeal: (rel, step, i) => this.selfHealOf(rel, step, i),
      io: (p) => this.io(p),
      includes: (rev, commit) => ctx.repo.includes(rev, commit),
      now: () => ctx.now(),
      log: ctx.log,
      repoURL: ctx.options.manifestRepo.argocdURL ?? ctx.options.manifestRepo.url,
      branch: ctx.repo.branch,
    };
    this.adapters = { argocd: new ArgoCdAdapter(deps), direct: new DirectAdapter(deps) };
  }

  private get ctx(): FlightingContext {
    return this.d.ctx;
  }

  private get actionTimeoutMs(): number {
    return this.ctx.options.actionTimeoutMs ?? 20_000;
  }

  /** Awaits Git or Kubernetes work, counting its time apart from the engine's own. */
  async io<T>(p: Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await p;
    } finally {
      this.d.stats.ioMs += performance.now() - t;
    }
  }

  /** Runs one action of each step at once; a slow or unreachable cluster holds up no other step beyond actionTimeoutMs. */
  async run(rel: Release, steps: Step[]): Promise<void> {
    await Promise.all(steps.map((s) => this.runStep(rel, s)));
  }

  private async runStep(rel: Release, step: Step): Promise<void> {
    const key = stepKey(step);
    const backoff = this.backoff.get(key);
    if (backoff && this.ctx.now() < backoff.notBefore) return;
    // a step moves through several quick phases in one go; it stops when it has to wait for the cluster
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const writing = step.phase.kind === 'write';
      let more: boolean;
      try {
        const result = await withTimeout((signal) => this.act(rel, step, signal), this.actionTimeoutMs, step);
        more = await this.record(rel, step, result);
      } catch (err) {
        this.d.stats.actionMs += performance.now() - started;
        return this.onError(rel, step, key, writing, err);
      }
      this.backoff.delete(key);
      this.d.stats.actionMs += performance.now() - started;
      this.d.stats.actions++;
      if (!more || step.state !== 'in_progress') return;
    }
  }

  private async onError(rel: Release, step: Step, key: string, writing: boolean, err: unknown): Promise<void> {
    if (err instanceof ActionTimeout && writing) return this.settleTimedOutWrite(rel, step, err);
    if (isTransient(err)) return this.retryLater(rel, step, key, err as Error);
    if (err instanceof ClusterFailure || err instanceof KubeUnreachableError || isKubeError(err)) return this.failStep(rel, step, (err as Error).message);
    // our own side (Git, database): keep the phase and retry on the next tick
    this.ctx.log.warn({ release: rel.id, cluster: step.cluster, phase: phaseText(step.phase), err: (err as Error).message }, 'cluster step action failed; retrying');
    await this.d.store.updateStep(step, this.ctx.now(), { reason: `retrying: ${(err as Error).message}`.slice(0, 2000) });
  }

  /** Does the next piece of work of a step: its manifest write, or its delivery adapter's next action. */
  private async act(rel: Release, step: Step, signal: AbortSignal): Promise<ActionResult> {
    if (step.phase.kind === 'write') return { kind: 'written', written: await this.write(rel, step, signal) };
    return this.adapters[step.delivery.mode].act(rel, step, signal);
  }

  /** Records what an action found; true when the step can go on at once. */
  private async record(rel: Release, step: Step, r: ActionResult): Promise<boolean> {
    if (r.kind === 'written') {
      await this.recordWrite(rel, step, r.written);
      return true;
    }
    if (r.kind === 'degraded') return this.onDegraded(step, r.reason);
    this.degradedSince.delete(stepKey(step));
    if (r.kind === 'wait') {
      if (r.reason !== step.reason) await this.updateStep(step, { reason: r.reason });
      return false;
    }
    if (r.kind === 'succeeded') {
      await this.succeedStep(rel, step);
      return true;
    }
    await this.updateStep(step, { phase: r.phase, ...(r.clearReason ? { reason: null } : {}) });
    return true;
  }

  /** Writes (or finds) the step's manifest commit. */
  private async write(rel: Release, step: Step, signal: AbortSignal): Promise<Written> {
    const targets = await Promise.all(step.instances.map(async (i) => ({ i, inst: await this.target(rel, step, i) })));
    const verb = step.step === 'rollback' ? 'Roll back' : 'Deliver';
    return this.io(this.ctx.repo.ensureCommit({
      release: rel.id, step: step.step, sourceRevision: rel.revision, ring: step.ring, cluster: step.cluster,
      title: `${verb} release ${rel.id} to ${step.cluster} (${targets.map((t) => t.i.instance).join(', ')})`.slice(0, 200),
      instances: targets.map((t) => ({ instance: t.i.instance, files: t.inst ? t.inst.objects.map((o) => ({ file: o.file, yaml: o.yaml })) : null })),
    }, { signal }));
  }

  /** Records a manifest commit of a step: the journey events, what the manifest repo holds per instance, the step's next phase. */
  private async recordWrite(rel: Release, step: Step, written: Written): Promise<void> {
    const { commit, created, message } = written;
    const next = firstDeliveryPhase(step.delivery.mode);
    const deadlineAt = step.step === 'rollback' ? this.ctx.now() + this.d.scale(await this.d.store.rollbackDeadline(rel.id)) : undefined;
    await this.d.emit([
      { kind: 'commit', repository: this.ctx.manifestRepository, commit, message, release: rel.id, ring: step.ring, cluster: step.cluster, idempotencyKey: `manifest:${commit}` },
      { kind: 'promotion.step', release: rel.id, ring: step.ring, cluster: step.cluster, commit, status: 'started', idempotencyKey: `release:${rel.id}:${step.step}:${step.cluster}:started`, data: { step: step.step, created } },
    ]);
    const held = step.instances.map((i) => ({ instance: i, releaseId: step.step === 'rollback' ? i.previousRelease : rel.id, digest: targetDigest(step, i) }));
    await this.d.store.recordWrite(step, this.ctx.now(), { commit, next, deadlineAt, held });
    step.manifestCommit = commit;
    step.phase = next;
    if (deadlineAt) step.deadlineAt = deadlineAt;
    this.d.delivered();
  }

  /**
   * The cluster did not answer (unreachable, overloaded, timed out): it may come back, so the step
   * stays in flight and is tried again with a growing pause; its progress deadline ends the waiting.
   */
  private async retryLater(rel: Release, step: Step, key: string, err: Error): Promise<void> {
    const attempts = (this.backoff.get(key)?.attempts ?? 0) + 1;
    const wait = Math.min(MAX_BACKOFF_MS, this.d.pollMs * 2 ** (attempts - 1));
    this.backoff.set(key, { attempts, notBefore: this.ctx.now() + wait });
    const why = err instanceof KubeUnreachableError ? `unreachable: ${err.message}` : err.message;
    this.ctx.log.warn({ release: rel.id, cluster: step.cluster, phase: phaseText(step.phase), attempts, err: why }, 'cluster did not answer; retrying');
    await this.updateStep(step, { reason: `retrying (attempt ${attempts}, next in ${Math.round(wait / 1000)}s): ${why}` });
  }

  /**
   * A manifest write ran past its time and was cancelled. Whether its commit landed before the push
   * was killed only the manifest repo knows (its trailers): ask it, record what it holds — so a
   * rollback covers this cluster when it changed — and fail the step.
   */
  private async settleTimedOutWrite(rel: Release, step: Step, err: ActionTimeout): Promise<void> {
    let landed: { commit: string; message: string } | undefined;
    try {
      landed = await this.io(this.ctx.repo.landed(rel.id, step.step, step.cluster));
    } catch (lookup) {
      // not knowing is not failing: the write phase runs again next tick and finds (or makes) the commit
      this.ctx.log.warn({ release: rel.id, cluster: step.cluster, err: (lookup as Error).message }, 'cannot tell whether a cancelled manifest write landed; retrying');
      await this.updateStep(step, { reason: `retrying: ${err.message}; whether the write landed is not known yet` });
      return;
    }
    if (landed) {
      await this.recordWrite(rel, step, { ...landed, created: true });
      await this.failStep(rel, step, `${err.message}; its commit ${landed.commit.slice(0, 12)} landed in the manifest repo`);
    } else {
      await this.failStep(rel, step, `${err.message}; nothing was written to the manifest repo`);
    }
  }

  private async updateStep(step: Step, set: StepChange): Promise<void> {
    if (set.phase) step.phase = set.phase;
    if (set.state) step.state = set.state;
    if (set.reason !== undefined) step.reason = set.reason;
    if (set.manifestCommit) step.manifestCommit = set.manifestCommit;
    await this.d.store.updateStep(step, this.ctx.now(), set);
  }

  private forget(step: Step): void {
    this.adapters[step.delivery.mode].forget(step);
    this.degradedSince.delete(stepKey(step));
  }

  async failStep(rel: Release, step: Step, reason: string): Promise<void> {
    // events first: they are idempotent, so a crash between the two repeats them harmlessly instead of losing them
    this.ctx.log.warn({ release: rel.id, cluster: step.cluster, step: step.step, reason }, 'cluster step failed');
    await this.d.emit(failureEvents(rel, step, reason));
    await this.updateStep(step, { state: 'failed', reason, finished: true });
    this.forget(step);
    this.d.stats.steps++;
    this.d.delivered();
  }

  private async succeedStep(rel: Release, step: Step): Promise<void> {
    this.forget(step);
    await this.d.emit(successEvents(rel, step));
    await this.updateStep(step, { state: 'succeeded', reason: null, finished: true });
    this.d.stats.steps++;
    this.d.delivered();
  }

  /** Looks at finished steps again; fails those whose cluster now reports Degraded. True when one failed. */
  async check(rel: Release, steps: Step[]): Promise<boolean> {
    const verdicts = await Promise.all(steps.map(async (step) => {
      try {
        return { step, degraded: await withTimeout((signal) => this.adapters[step.delivery.mode].degradedNow(rel, step, signal), this.actionTimeoutMs, step) };
      } catch (err) {
        // an unanswered health read during soak proves nothing either way; the next look decides
        this.ctx.log.warn({ release: rel.id, cluster: step.cluster, err: (err as Error).message }, 'health re-check during soak failed');
        return { step, degraded: undefined };
      }
    }));
    let failed = false;
    for (const v of verdicts) {
      if (!v.degraded) continue;
      await this.failStep(rel, v.step, `turned Degraded while soaking: ${v.degraded}`);
      failed = true;
    }
    return failed;
  }

  /** A Degraded verdict on an in-flight step: it fails once Degraded for the confirmation window, and waits until then. */
  private async onDegraded(step: Step, reason: string): Promise<false> {
    const key = stepKey(step);
    const now = this.ctx.now();
    const since = this.degradedSince.get(key) ?? now;
    this.degradedSince.set(key, since);
    const confirm = this.ctx.options.degradedConfirmMs ?? DEGRADED_CONFIRM_MS;
    if (now - since >= confirm) throw new ClusterFailure(reason);
    const waiting = `${reason} (failing unless it recovers within ${Math.ceil((since + confirm - now) / 1000)}s)`;
    if (waiting !== step.reason) await this.updateStep(step, { reason: waiting });
    return false;
  }

  /** The client that reaches a step's cluster (direct) or the Argo CD management cluster; a bad kubeconfig fails the cluster. */
  private clientFor(step: Step, signal: AbortSignal): KubeClient {
    try {
      return (step.delivery.mode === 'argocd' ? this.ctx.clients.management() : this.ctx.clients.forCluster(step.cluster, step.delivery.context)).withSignal(signal);
    } catch (err) {
      throw new ClusterFailure(`unreachable: no usable kubeconfig for ${step.delivery.mode === 'argocd' ? 'the Argo CD management cluster' : `cluster ${step.cluster}`}: ${(err as Error).message}`);
    }
  }

  /** What a step delivers: the rendered instance, or null when the instance is removed. */
  private async target(rel: Release, step: Step, i: StepInstance): Promise<RenderedInstance | null> {
    if (step.step === 'deliver') {
      if (i.action === 'delete') return null;
      const r = await this.ctx.renderer.render(rel.revision, rel.override);
      const inst = r.instances.get(i.instance);
      if (!inst) throw new Error(`instance ${i.instance} is missing from the render of ${rel.revision}`);
      return withReleaseAnnotation(inst, rel.id);
    }
    if (!i.previousRelease) return null;
    const prev = await this.previous(i.previousRelease);
    const r = await this.ctx.renderer.render(prev.revision, prev.override);
    const inst = r.instances.get(i.instance);
    return inst ? withReleaseAnnotation(inst, prev.id) : null;
  }

  private async previous(id: string): Promise<Release> {
    const rel = await this.d.store.release(id);
    if (!rel) throw new Error(`release ${id}, which an instance held before, no longer exists`);
    return rel;
  }

  /**
   * Whether Argo CD undoes live edits of an instance itself: the fleet's drift policy (instance, app,
   * ring) at the release whose manifests the step delivers (a rollback: the release it goes back to).
   */
  private async selfHealOf(rel: Release, step: Step, i: StepInstance): Promise<boolean> {
    const source = step.step === 'rollback' && i.previousRelease ? await this.previous(i.previousRelease) : rel;
    return driftPolicy((await this.ctx.renderer.render(source.revision, source.override)).fleet, i.instance).selfHeal;
  }
}

/** The cluster's region on sync/health events, so the fleet view can group clusters by region. */
function regionData(step: Step): { data?: { region: string } } {
  return step.delivery.region ? { data: { region: step.delivery.region } } : {};
}

/** The journey events of a failed cluster step: the step, and each instance it delivered as Degraded. */
export function failureEvents(rel: Release, step: Step, reason: string): EventInput[] {
  const key = `release:${rel.id}:${step.step}:${step.cluster}`;
  return [
    { kind: 'promotion.step', release: rel.id, ring: step.ring, cluster: step.cluster, status: 'failed', idempotencyKey: `${key}:failed`, data: { step: step.step, reason } },
    ...step.instances.filter((i) => i.action !== 'delete').map((i): EventInput => ({ kind: 'health', cluster: step.cluster, instance: i.instance, app: i.app, ring: step.ring, release: rel.id, status: 'Degraded', idempotencyKey: `${key}:${i.instance}:degraded`, ...regionData(step) })),
  ];
}

/** The journey events of a succeeded cluster step: the step, and each instance it delivered as Synced and Healthy. */
export function successEvents(rel: Release, step: Step): EventInput[] {
  const key = `release:${rel.id}:${step.step}:${step.cluster}`;
  const commit = step.manifestCommit ?? undefined;
  return [
    { kind: 'promotion.step', release: rel.id, ring: step.ring, cluster: step.cluster, commit, status: step.step === 'rollback' ? 'rolled_back' : 'succeeded', idempotencyKey: `${key}:succeeded`, data: { step: step.step } },
    ...step.instances.filter((i) => targetDigest(step, i) !== null).flatMap((i): EventInput[] => {
      // after a rollback the instance runs the release it held before (not this one)
      const runs = step.step === 'rollback' ? i.previousRelease ?? undefined : rel.id;
      const common = { cluster: step.cluster, instance: i.instance, app: i.app, ring: step.ring, release: runs, ...regionData(step) };
      return [
        { kind: 'sync', ...common, commit, status: 'Synced', idempotencyKey: `${key}:${i.instance}:synced` },
        { kind: 'health', ...common, status: 'Healthy', idempotencyKey: `${key}:${i.instance}:healthy` },
      ];
    }),
  ];
}

function isKubeError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return typeof code === 'string' && code.startsWith('RINGMASTER_KUBE');
}

/** Kubernetes answers that say "not now" rather than "no": the step waits for the cluster instead of failing. */
function isTransient(err: unknown): boolean {
  if (err instanceof ActionTimeout || err instanceof KubeUnreachableError) return true;
  const status = (err as { status?: unknown })?.status;
  return isKubeError(err) && typeof status === 'number' && (status === 429 || status === 502 || status === 503 || status === 504);
}

const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Runs an action with a deadline. Past it, the action is cancelled through its signal (git processes
 * killed, Kubernetes requests abandoned, the adapter stops between requests) and — so that what it
 * did is known before anyone decides — the timeout is reported only once the action has stopped (or
 * CANCEL_GRACE_MS later). What a timed-out action found is never recorded: the runner records only
 * the results of actions that finished in time.
 */
export async function withTimeout<T>(action: (signal: AbortSignal) => Promise<T>, ms: number, step: Step): Promise<T> {
  const controller = new AbortController();
  const running = action(controller.signal);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    const first = await Promise.race([running, expired]);
    if (first !== TIMED_OUT) return first as T;
  } finally {
    clearTimeout(timer);
  }
  const what = step.phase.kind === 'write' ? `the manifest write for cluster ${step.cluster} did not finish` : `cluster ${step.cluster} did not answer`;
  const timeout = new ActionTimeout(`${what} within ${ms / 1000}s (phase ${phaseText(step.phase)}); it was cancelled`);
  controller.abort(timeout);
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([running.catch(() => undefined), new Promise((resolve) => (grace = setTimeout(resolve, CANCEL_GRACE_MS)))]);
  clearTimeout(grace);
  throw timeout;
}
