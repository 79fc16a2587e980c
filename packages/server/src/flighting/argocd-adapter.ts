import type { KubeClient } from '@ringmaster/kube';
import { applicationFor, applicationName, applicationVerdict, applyApplications, ARGO_API_VERSION, refreshApplications, waitsForRevision } from '../delivery/argocd.ts';
import { stepKey, targetDigest, type AdapterDeps, type DeliveryAdapter, type StepOutcome } from './adapter.ts';
import type { Release, Step } from './steps.ts';

/** How long an Argo CD step waits on an older commit before it asks Argo CD to refresh again. */
const REFRESH_AGAIN_MS = 20_000;

type ArgoStep = Step & { delivery: Extract<Step['delivery'], { mode: 'argocd' }> };

/** Argo CD delivery: an Application per instance on the management cluster, then Argo CD's verdict on it. */
export class ArgoCdAdapter implements DeliveryAdapter {
  /** When each step last asked Argo CD to refresh its Applications (in memory: a restarted engine asks again). */
  private readonly refreshedAt = new Map<string, number>();

  constructor(private readonly deps: AdapterDeps) {}

  async act(rel: Release, step: Step, signal: AbortSignal): Promise<StepOutcome> {
    const s = argo(step);
    const client = this.deps.client(s, signal);
    if (s.phase.kind === 'apps') return this.writeApps(rel, s, client, signal);
    if (s.phase.kind === 'observe') return this.observe(s, client, signal);
    throw new Error(`phase ${s.phase.kind} of step ${s.step}/${s.cluster} is not an Argo CD phase`);
  }

  private async writeApps(rel: Release, step: ArgoStep, client: KubeClient, signal: AbortSignal): Promise<StepOutcome> {
    const d = step.delivery;
    const apps = [];
    for (const i of step.instances) {
      signal.throwIfAborted();
      if (targetDigest(step, i) === null) await this.deps.io(client.delete(this.ref(step, i.instance)));
      else apps.push(applicationFor({ cluster: step.cluster, instance: i.instance, namespace: i.namespace, argocd: d, repoURL: this.deps.repoURL, branch: this.deps.branch, selfHeal: await this.deps.selfHeal(rel, step, i) }));
    }
    if (apps.length) {
      await this.deps.io(applyApplications(client, apps));
      await this.refresh(step, client);
    }
    return { kind: 'phase', phase: { kind: 'observe' } };
  }

  private async observe(step: ArgoStep, client: KubeClient, signal: AbortSignal): Promise<StepOutcome> {
    const verdicts = await Promise.all(step.instances.filter((i) => targetDigest(step, i) !== null).map(async (i) => applicationVerdict(
      await this.deps.io(client.get(this.ref(step, i.instance))), step.manifestCommit!, (rev, commit) => this.deps.io(this.deps.includes(rev, commit)))));
    signal.throwIfAborted();
    const bad = verdicts.find((v) => v.status === 'Degraded');
    if (bad) return { kind: 'degraded', reason: bad.reason };
    // still at an older commit a while after the last refresh (e.g. Argo CD restarted and lost it): ask again
    if (verdicts.some(waitsForRevision) && this.deps.now() - (this.refreshedAt.get(stepKey(step)) ?? 0) >= REFRESH_AGAIN_MS) await this.refresh(step, client);
    const waiting = verdicts.find((v) => v.status !== 'Healthy');
    return waiting ? { kind: 'wait', reason: waiting.reason } : { kind: 'succeeded' };
  }

  async degradedNow(_rel: Release, step: Step, signal: AbortSignal): Promise<string | undefined> {
    const s = argo(step);
    const client = this.deps.client(s, signal);
    for (const i of s.instances.filter((x) => targetDigest(s, x) !== null)) {
      const app = await this.deps.io(client.get(this.ref(s, i.instance)));
      const v = await applicationVerdict(app, s.manifestCommit!, (rev, commit) => this.deps.io(this.deps.includes(rev, commit)));
      if (v.status === 'Degraded') return v.reason;
    }
    return undefined;
  }

  forget(step: Step): void {
    this.refreshedAt.delete(stepKey(step));
  }

  private ref(step: ArgoStep, instance: string) {
    return { apiVersion: ARGO_API_VERSION, kind: 'Application', namespace: step.delivery.namespace, name: applicationName(step.cluster, instance) };
  }

  /** Asks Argo CD to refresh the step's Applications now, so delivery does not wait for its poll. */
  private async refresh(step: ArgoStep, client: KubeClient): Promise<void> {
    this.refreshedAt.set(stepKey(step), this.deps.now());
    const apps = step.instances.filter((i) => targetDigest(step, i) !== null).map((i) => ({ namespace: step.delivery.namespace, name: applicationName(step.cluster, i.instance) }));
    try {
      await this.deps.io(refreshApplications(client, apps));
    } catch (err) {
      // a lost refresh only costs time (Argo CD's own poll still comes): never fail the step for it
      this.deps.log.warn({ cluster: step.cluster, err: (err as Error).message }, 'asking Argo CD to refresh failed');
    }
  }
}

function argo(step: Step): ArgoStep {
  if (step.delivery.mode !== 'argocd') throw new Error(`step ${step.step}/${step.cluster} is not delivered by Argo CD`);
  return step as ArgoStep;
}
