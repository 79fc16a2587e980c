import type { KubeClient } from '@ringmaster/kube';
import type { RenderedInstance } from '@ringmaster/fleet';
import { applyStage, finishInstance, replaceStuckStatefulSetPods, stageHealth, stagesOf } from '../delivery/direct.ts';
import type { AdapterDeps, DeliveryAdapter, StepOutcome } from './adapter.ts';
import type { StepInstance } from './model.ts';
import type { Release, Step } from './steps.ts';

interface Target {
  i: StepInstance;
  inst: RenderedInstance | null;
}

/** Direct delivery: the instance's objects applied stage by stage (each waiting for the one before to be healthy), then pruned. */
export class DirectAdapter implements DeliveryAdapter {
  constructor(private readonly deps: AdapterDeps) {}

  async act(rel: Release, step: Step, signal: AbortSignal): Promise<StepOutcome> {
    const client = this.deps.client(step, signal);
    const targets = await this.targets(rel, step);
    signal.throwIfAborted();
    const phase = step.phase;
    if (phase.kind === 'stage' && phase.action === 'apply') {
      for (const t of targets) {
        signal.throwIfAborted();
        if (t.inst) await this.deps.io(applyStage(client, t.inst, phase.stage));
      }
      return { kind: 'phase', phase: { kind: 'stage', stage: phase.stage, action: 'wait' } };
    }
    if (phase.kind === 'stage') return this.waitForStage(rel, step, client, targets, phase.stage);
    if (phase.kind === 'prune') {
      for (const t of targets) {
        signal.throwIfAborted();
        await this.deps.io(finishInstance(client, t.i.instance, t.i.namespace, t.inst));
      }
      return { kind: 'succeeded' };
    }
    throw new Error(`phase ${phase.kind} of step ${step.step}/${step.cluster} is not a direct-mode phase`);
  }

  private async waitForStage(rel: Release, step: Step, client: KubeClient, targets: Target[], stage: number): Promise<StepOutcome> {
    const live = targets.flatMap((t) => (t.inst ? [t.inst] : []));
    if (step.step === 'rollback') {
      for (const inst of live) {
        const replaced = await this.deps.io(replaceStuckStatefulSetPods(client, inst, stage));
        if (replaced.length) this.deps.log.info({ release: rel.id, cluster: step.cluster, pods: replaced }, 'rollback: replaced StatefulSet Pods stuck at the bad revision (OrderedReady would wait for them for ever)');
      }
    }
    const health = await this.deps.io(Promise.all(live.map((inst) => stageHealth(client, inst, stage))));
    const bad = health.find((h) => h.status === 'Degraded');
    if (bad) return { kind: 'degraded', reason: bad.reason };
    const waiting = health.find((h) => h.status !== 'Healthy');
    if (waiting) return { kind: 'wait', reason: waiting.reason };
    const stages = Math.max(0, ...live.map((inst) => stagesOf(inst).length));
    return { kind: 'phase', phase: stage + 1 < stages ? { kind: 'stage', stage: stage + 1, action: 'apply' } : { kind: 'prune' }, clearReason: true };
  }

  async degradedNow(rel: Release, step: Step, signal: AbortSignal): Promise<string | undefined> {
    const client = this.deps.client(step, signal);
    for (const t of await this.targets(rel, step)) {
      if (!t.inst) continue;
      for (let stage = 0; stage < stagesOf(t.inst).length; stage++) {
        const h = await this.deps.io(stageHealth(client, t.inst, stage));
        if (h.status === 'Degraded') return h.reason;
      }
    }
    return undefined;
  }

  forget(): void {}

  private targets(rel: Release, step: Step): Promise<Target[]> {
    return Promise.all(step.instances.map(async (i) => ({ i, inst: await this.deps.target(rel, step, i) })));
  }
}
