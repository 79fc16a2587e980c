import type { EventInput } from '../ingest/event-schema.ts';
import { isTerminal } from './model.ts';
import type { DecideOptions, Decision, ReleaseAction } from './decide.ts';
import type { ReleaseSnapshot } from './steps.ts';

/**
 * Concurrent releases: releases that change different apps run at once; one that changes an app an
 * earlier active release changes queues behind it, or supersedes it (the app's `release.overlap`).
 * Pure: the store reads the facts, these functions decide.
 */

/** The actions of concurrency the runner does: make the plan of a queued release against what is delivered now and start it; end a superseded release. */
export type ConcurrencyAction =
  | { kind: 'dequeue' }
  | { kind: 'supersede'; by: string };

export type OverlapPolicy = 'queue' | 'supersede';

/** What concurrency needs to know of another release. */
export interface ActiveRelease {
  id: string;
  createdAt: number;
  state: string;
  phase: string;
  apps: readonly string[];
}

const before = (a: { createdAt: number; id: string }, b: { createdAt: number; id: string }) => a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id);
const shares = (a: readonly string[], b: readonly string[]) => a.some((x) => b.includes(x));

/** The earlier releases, still active, that change an app this release changes, oldest first: a queued release waits for every one of them. */
export function waitsFor(rel: { id: string; createdAt: number; apps: readonly string[] }, others: readonly ActiveRelease[]): string[] {
  return others
    .filter((o) => o.id !== rel.id && !isTerminal(o.state) && before(o, rel) && shares(o.apps, rel.apps))
    .sort((a, b) => (before(a, b) ? -1 : 1))
    .map((o) => o.id);
}

/**
 * How a new release changing `apps` is admitted next to the active ones: at once (`pending`) when it
 * overlaps none; else `queued`, and — when every shared app's policy is `supersede` — the overlapping
 * releases still rolling out are to stop (a release rolling back is never interrupted: the new one
 * waits for it). When the shared apps' policies disagree, queue wins.
 */
export function admit(apps: readonly string[], active: readonly ActiveRelease[], policyOf: (app: string) => OverlapPolicy): { state: 'pending' | 'queued'; supersede: string[] } {
  const overlapping = active.filter((o) => !isTerminal(o.state) && shares(o.apps, apps));
  if (overlapping.length === 0) return { state: 'pending', supersede: [] };
  const shared = [...new Set(overlapping.flatMap((o) => o.apps.filter((a) => apps.includes(a))))];
  const policy: OverlapPolicy = shared.every((a) => policyOf(a) === 'supersede') ? 'supersede' : 'queue';
  return { state: 'queued', supersede: policy === 'supersede' ? overlapping.filter((o) => o.phase === 'rollout').map((o) => o.id) : [] };
}

const releaseEvent = (snap: ReleaseSnapshot, status: string, data?: Record<string, unknown>): EventInput => ({
  kind: 'release', release: snap.release.id, commit: snap.release.revision, status, idempotencyKey: `release:${snap.release.id}:${status}`, ...(data ? { data } : {}),
});

/**
 * The decision of a release that concurrency holds, or undefined when it runs as usual: a superseded
 * release lets its steps in flight finish (or fail at their wave's deadline), starts nothing, and then
 * ends; a queued one waits until no earlier overlapping release is active, then leaves the queue.
 */
export function decideConcurrency(snap: ReleaseSnapshot, now: number, o: DecideOptions): Decision | undefined {
  const rel = snap.release;
  if (rel.supersededBy && rel.phase === 'rollout') return decideSuperseded(snap, rel.supersededBy, now, o);
  if (rel.state !== 'queued') return undefined;
  if ((snap.waitsFor ?? []).length) return { actions: [], next: o.pollMs };
  // once its plan is made again the release is pending: decided again at once, it starts
  return { actions: [{ kind: 'dequeue' }], next: 0, again: true };
}

function decideSuperseded(snap: ReleaseSnapshot, by: string, now: number, o: DecideOptions): Decision {
  const inflight = snap.deliver.filter((s) => s.state === 'in_progress');
  if (!o.progressed && inflight.length) return { actions: [{ kind: 'deliver', step: 'deliver', clusters: inflight.map((s) => s.cluster) }], next: undefined, again: true };
  const deadline = (ring: string, wave: number) => snap.waves.find((w) => w.ring === ring && w.wave === wave)?.deadlineAt ?? null;
  const late = inflight.filter((s) => {
    const at = deadline(s.ring, s.wave);
    return at !== null && now >= at;
  });
  if (late.length) {
    const actions: ReleaseAction[] = late.map((s) => ({ kind: 'fail-step', step: 'deliver', cluster: s.cluster, reason: `progress deadline exceeded while superseded by ${by}${s.reason ? ` (last: ${s.reason})` : ''}` }));
    return { actions, next: 0 };
  }
  if (inflight.length) {
    const due = Math.min(...inflight.map((s) => deadline(s.ring, s.wave) ?? Infinity));
    return { actions: [], next: Math.min(o.pollMs, Math.max(0, due - now)) };
  }
  // a clean boundary: no cluster step is half done; what is left is the newer release's to deliver
  return { actions: [{ kind: 'emit', events: [releaseEvent(snap, 'superseded', { by })] }, { kind: 'supersede', by }], next: undefined };
}

/** The reason a superseded release ends with. */
export const supersededReason = (by: string): string => `superseded by ${by}`;
