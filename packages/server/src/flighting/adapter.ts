import type { KubeClient } from '@ringmaster/kube';
import type { RenderedInstance } from '@ringmaster/fleet';
import type { Logger } from './context.ts';
import type { StepInstance, StepPhase } from './model.ts';
import type { Release, Step } from './steps.ts';

/** What one action of a delivery adapter found: the runner records it (an adapter writes nothing to the database). */
export type StepOutcome =
  /** The step moved on to the phase (its reason cleared when `clearReason`). */
  | { kind: 'phase'; phase: StepPhase; clearReason?: boolean }
  /** The step waits for its cluster, for the reason given. */
  | { kind: 'wait'; reason: string }
  /** The cluster reports the step's objects Degraded (the runner confirms it before failing the step). */
  | { kind: 'degraded'; reason: string }
  | { kind: 'succeeded' };

/** What delivery adapters are given: the clients, the renders, and the timing of their I/O. */
export interface AdapterDeps {
  /** The client of a step's cluster (direct) or of the Argo CD management cluster, tied to `signal`. */
  client(step: Step, signal: AbortSignal): KubeClient;
  /** What a step delivers for an instance: the rendered instance, or null when the instance is removed. */
  target(rel: Release, step: Step, i: StepInstance): Promise<RenderedInstance | null>;
  /** Whether Argo CD undoes live edits of the instance itself (the fleet's drift policy). */
  selfHeal(rel: Release, step: Step, i: StepInstance): Promise<boolean>;
  /** Awaits Git or Kubernetes work, counting its time. */
  io<T>(p: Promise<T>): Promise<T>;
  /** Whether manifest-repo revision `rev` contains `commit`. */
  includes(rev: string, commit: string): Promise<boolean>;
  now(): number;
  log: Logger;
  /** Where Argo CD clones the manifest repo from, and its branch. */
  repoURL: string;
  branch: string;
}

/**
 * One delivery mode. Each call does the next piece of work of a step after its manifest write and
 * says what it found; `signal` is aborted when the step's action times out, and cancels every
 * Kubernetes request of the call (the adapter also stops between requests).
 */
export interface DeliveryAdapter {
  act(rel: Release, step: Step, signal: AbortSignal): Promise<StepOutcome>;
  /** The reason a delivered step's cluster is Degraded now, or undefined. */
  degradedNow(rel: Release, step: Step, signal: AbortSignal): Promise<string | undefined>;
  /** Forgets what it keeps in memory about a finished step. */
  forget(step: Step): void;
}

/** The digest a step delivers for an instance (null: the instance is removed). */
export function targetDigest(step: Step, i: StepInstance): string | null {
  if (step.step === 'rollback') return i.previousDigest;
  return i.action === 'delete' ? null : i.digest;
}

export const stepKey = (step: Step): string => `${step.releaseId}/${step.step}/${step.cluster}`;
