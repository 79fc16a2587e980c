import { z } from 'zod';
import { isUnsafeKey } from './common.ts';
import { metricGateView, resolvedMetricGate } from './metrics.ts';
import { releaseOverride } from './freeze.ts';
import { releaseAlertView } from './alerts.ts';
import { releaseConcurrency } from './concurrency.ts';

/** States a release, ring, wave or cluster step can be in. */
export const FLIGHT_STATES = [
  'pending', 'queued', 'waiting_for_approval', 'in_progress', 'soaking', 'paused',
  'succeeded', 'failed', 'halted', 'aborted', 'rolled_back',
] as const;
export type FlightState = (typeof FLIGHT_STATES)[number];

/** The states a release (or ring, wave, step) does not leave: the one list server, dashboard and CLI use. */
export const TERMINAL_STATES = ['succeeded', 'failed', 'halted', 'aborted', 'rolled_back'] as const satisfies readonly FlightState[];
export type TerminalState = (typeof TERMINAL_STATES)[number];

const terminal: ReadonlySet<string> = new Set(TERMINAL_STATES);
export const isTerminal = (state: string): state is TerminalState => terminal.has(state);

/** Body of POST /api/v1/releases. */
export const createReleaseBody = z.object({
  revision: z.string().trim().min(1).max(200).describe('fleet-repo revision: SHA, branch or tag'),
  image: z.object({
    app: z.string().min(1).max(200),
    image: z.string().min(1).max(1000).regex(/^[^\s]+$/, 'must be an image reference without spaces'),
    path: z.string().max(500).regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted path such as "image" or "proxy.image"')
      .refine((p) => !p.split('.').some(isUnsafeKey), 'must not use "__proto__", "constructor" or "prototype" as a key').optional(),
  }).strict().optional(),
  message: z.string().max(2000).optional(),
  instances: z.array(z.string().min(1).max(200)).min(1).max(500).optional()
    .describe('deliver only these instances (created, updated or pruned); every other difference waits for a later release'),
}).strict();
export type CreateReleaseInput = z.infer<typeof createReleaseBody>;

export const listReleasesQuery = z.object({
  state: z.enum(FLIGHT_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().optional().describe('created_at cursor (epoch ms) from the previous page'),
}).strict();

export const approveReleaseBody = z.object({ ring: z.string().min(1).max(100).optional(), comment: z.string().max(2000).optional() }).strict();
export const releaseActionBody = z.object({ reason: z.string().max(2000).optional() }).strict();

/** Sets one app's image for a release: the value at `path` (default "image") in the app's values. */
export const imageOverride = z.object({
  app: z.string(),
  image: z.string(),
  path: z.string().optional().describe('dotted path of the image value in the app\'s values (default "image")'),
});
export type ImageOverride = z.infer<typeof imageOverride>;

export const releaseSummary = z.object({
  instances: z.number(),
  clusters: z.number(),
  rings: z.record(z.string(), z.number()),
  actions: z.object({ create: z.number(), update: z.number(), delete: z.number() }),
  apps: z.array(z.string()),
  skipped: z.array(z.string()).describe('instances on clusters the fleet no longer declares: not delivered (remove them by hand)'),
});
export type ReleaseSummary = z.infer<typeof releaseSummary>;

/** One instance inside a cluster step. */
export const stepInstance = z.object({
  instance: z.string(),
  app: z.string(),
  namespace: z.string(),
  action: z.enum(['create', 'update', 'delete']),
  digest: z.string().describe("digest of the rendered files delivered by this step ('' for a delete)"),
  previousRelease: z.string().nullable(),
  previousDigest: z.string().nullable(),
});
export type StepInstance = z.infer<typeof stepInstance>;

const time = z.string();
const maybeTime = time.nullable();

/** A cluster step as the API shows it. */
export const stepView = z.object({
  cluster: z.string(),
  ring: z.string(),
  wave: z.number(),
  mode: z.enum(['argocd', 'direct']),
  state: z.string(),
  phase: z.string(),
  manifestCommit: z.string().nullable(),
  reason: z.string().nullable(),
  startedAt: maybeTime,
  deadlineAt: maybeTime,
  finishedAt: maybeTime,
  instances: z.array(stepInstance),
});
export type StepView = z.infer<typeof stepView>;

/** A deployment window as the engine applies it: opens at each start of the cron schedule in the time zone, for durationMs. */
export const deploymentWindow = z.object({ schedule: z.string(), durationMs: z.number(), timeZone: z.string() });
export type DeploymentWindow = z.infer<typeof deploymentWindow>;

/** A ring policy with every default filled in, as the engine applies it. */
export const resolvedPolicy = z.object({
  waves: z.union([z.object({ size: z.number() }), z.object({ byLabel: z.string() }), z.object({ all: z.literal(true) })]),
  maxInFlight: z.number().nullable(),
  maxFailures: z.number(),
  soakMs: z.number(),
  approval: z.enum(['auto', 'manual']),
  autoRollback: z.boolean(),
  progressDeadlineMs: z.number(),
  metrics: z.array(resolvedMetricGate).optional().describe('metric gates (absent: none)'),
  windows: z.array(deploymentWindow).optional().describe('deployment windows of the ring (none or absent: always open)'),
  alerts: z.object({ action: z.enum(['fail', 'pause']) }).optional().describe('what a firing Alertmanager alert naming a cluster in flight does (absent: fail)'),
});
export type ResolvedPolicy = z.infer<typeof resolvedPolicy>;

export const waveView = z.object({
  wave: z.number(), label: z.string().nullable(), state: z.string(), startedAt: maybeTime, deadlineAt: maybeTime, soakUntil: maybeTime, finishedAt: maybeTime,
  clusters: z.array(stepView),
});
export type WaveView = z.infer<typeof waveView>;

export const ringView = z.object({
  ring: z.string(),
  position: z.number(),
  state: z.string(),
  policy: resolvedPolicy,
  approval: z.object({ required: z.boolean(), approvedBy: z.string().nullable(), approvedAt: maybeTime }),
  gate: z.object({
    kind: z.enum(['approval', 'soak', 'wave', 'paused', 'metrics', 'window', 'freeze']), until: time.optional(),
    opensAt: maybeTime.optional().describe('window: when the next window opens (null: never again)'),
    reason: z.string().optional().describe('freeze: why releases are frozen'),
  }).nullable()
    .describe('what the ring waits for now: approval, soak (until), wave (clusters in flight), paused, metrics (soak over, metric gates still measuring), window (opensAt), freeze (reason)'),
  failures: z.number(),
  startedAt: maybeTime,
  finishedAt: maybeTime,
  waves: z.array(waveView),
  metrics: z.array(metricGateView).optional().describe("the ring's metric gates and their measurements (absent: the ring has none)"),
});
export type RingView = z.infer<typeof ringView>;

const releaseFacts = {
  id: z.string(),
  revision: z.string(),
  image: imageOverride.nullable(),
  state: z.string(),
  phase: z.enum(['rollout', 'rollback']),
  paused: z.boolean(),
  reason: z.string().nullable(),
  message: z.string().nullable(),
  createdBy: z.string(),
  finishedAt: maybeTime,
  summary: releaseSummary,
  ...releaseConcurrency,
};

/** A release in a list: its facts and summary, without its rings. */
export const releaseListItem = z.object({ ...releaseFacts, createdAt: time });
export type ReleaseListItem = z.infer<typeof releaseListItem>;
export const releaseList = z.object({ releases: z.array(releaseListItem), nextBefore: z.number().nullable() });

/** A release with its rings, waves, cluster steps, gates, timers and approvals. */
export const releaseView = z.object({
  ...releaseFacts,
  createdAt: time,
  updatedAt: time,
  progress: z.object({ clusters: z.number(), succeeded: z.number(), failed: z.number(), inFlight: z.number(), pending: z.number() }),
  rings: z.array(ringView),
  rollback: z.object({ clusters: z.array(stepView) }).nullable(),
  approvals: z.array(z.object({ ring: z.string(), actor: z.string(), at: time, result: z.string(), reason: z.string().nullable() })),
  overrides: z.array(releaseOverride).optional().describe('gates an admin let this release pass (window, freeze), with who and why'),
  alerts: z.array(releaseAlertView).optional().describe("Alertmanager alerts that named the release's clusters"),
});
export type ReleaseView = z.infer<typeof releaseView>;

export const releaseEvents = z.object({
  events: z.array(z.object({
    id: z.number(), kind: z.string(), status: z.string().nullable(), ring: z.string().nullable(), cluster: z.string().nullable(), instance: z.string().nullable(),
    commit: z.string().nullable(), author: z.string().nullable(), occurredAt: time, data: z.unknown(),
  })),
});
