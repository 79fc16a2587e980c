import type { KubeObject } from '@ringmaster/kube';
import { ANNOTATIONS, LABELS, MANAGED_BY, RISKY_OPERATIONS } from './constants.ts';
import { desiredNodes, podName, type DesiredNode } from './nodes.ts';
import { podFailure, podImage, podReady } from './pods.ts';
import type { AppCluster, CacheStatus, NodeOperation, NodeOverride, OperationStep } from './types.ts';

/** What a step sees of the world and may do to it; the controller implements it over its caches. */
export interface StepContext {
  app: AppCluster;
  op: NodeOperation;
  /** The node the operation acts on (node operations). */
  node?: DesiredNode;
  podOf(node: string): KubeObject | undefined;
  /** Whether the node's Pod is among the ready endpoints of its role's Service; undefined when the role has no Service. */
  inEndpoints(node: DesiredNode): boolean | undefined;
  appCluster(name: string): AppCluster | undefined;
  job(name: string): KubeObject | undefined;
  /** Sets fields of the node's entry in the AppCluster's spec.nodes (field manager ringmaster-operation). */
  patchNode(node: string, fields: Omit<NodeOverride, 'name'>): Promise<void>;
  /** Merge-patches status.cache of the AppCluster. */
  patchCache(cache: Partial<CacheStatus>): Promise<void>;
  deletePod(name: string, uid: string): Promise<void>;
  createJob(job: KubeObject): Promise<void>;
}

/** What a step's check found. */
export type StepCheck = { state: 'done'; message?: string } | { state: 'wait'; message: string } | { state: 'failed'; message: string };

/** One step: `prepare` records what it needs before acting (persisted with the Running phase), `act` is idempotent, `check` reads the world. */
export interface StepDef {
  name: string;
  prepare?(ctx: StepContext): { data?: Record<string, string>; fail?: string };
  act(ctx: StepContext, data: Record<string, string>): Promise<void>;
  check(ctx: StepContext, data: Record<string, string>): StepCheck;
}

export const isRisky = (op: NodeOperation): boolean => (RISKY_OPERATIONS as readonly string[]).includes(op.spec.type);
export const isTerminal = (op: NodeOperation): boolean => op.status?.phase === 'Succeeded' || op.status?.phase === 'Failed';

function trafficStep(name: string, traffic: 'serving' | 'dark'): StepDef {
  return {
    name,
    act: async (ctx) => {
      if (ctx.node!.traffic !== traffic) await ctx.patchNode(ctx.node!.name, { traffic });
    },
    check: (ctx) => {
      const n = ctx.node!;
      const pod = ctx.podOf(n.name);
      if (!pod) return traffic === 'dark' ? { state: 'done', message: 'the node has no Pod' } : { state: 'wait', message: `node ${n.name} has no Pod yet` };
      if (pod.metadata.labels?.[LABELS.traffic] !== traffic) return { state: 'wait', message: `waiting for Pod ${pod.metadata.name} to be labelled ${traffic}` };
      const inEp = ctx.inEndpoints(n);
      if (inEp === undefined) return { state: 'done', message: `role ${n.role} has no Service` };
      if (traffic === 'dark' && inEp) return { state: 'wait', message: `waiting for ${n.name} to leave the EndpointSlices` };
      if (traffic === 'serving' && !inEp) return { state: 'wait', message: `waiting for ${n.name} to be a ready endpoint` };
      return { state: 'done', message: traffic === 'dark' ? `${n.name} left the EndpointSlices` : `${n.name} serves traffic` };
    },
  };
}

function podCheck(ctx: StepContext, node: string, ok: (pod: KubeObject) => boolean, waitMsg: string): StepCheck {
  const pod = ctx.podOf(node);
  if (pod && !pod.metadata.deletionTimestamp && ok(pod)) {
    const failure = podFailure(pod);
    if (failure) return { state: 'failed', message: `node ${node}: ${failure}` };
    if (podReady(pod)) return { state: 'done', message: `node ${node} is Ready (${podImage(pod)})` };
  }
  return { state: 'wait', message: waitMsg };
}

const startStep: StepDef = {
  name: 'start',
  act: async (ctx) => {
    if (ctx.node!.state !== 'up') await ctx.patchNode(ctx.node!.name, { state: 'up' });
  },
  check: (ctx) => podCheck(ctx, ctx.node!.name, () => true, `waiting for node ${ctx.node!.name} to be Ready`),
};

const stopStep: StepDef = {
  name: 'stop',
  act: async (ctx) => {
    if (ctx.node!.state !== 'down') await ctx.patchNode(ctx.node!.name, { state: 'down' });
  },
  check: (ctx) => (ctx.podOf(ctx.node!.name) ? { state: 'wait', message: `waiting for Pod ${podName(ctx.app.metadata.name!, ctx.node!.name)} to be gone` } : { state: 'done', message: `node ${ctx.node!.name} is stopped` }),
};

const restartStep: StepDef = {
  name: 'restart',
  prepare: (ctx) => {
    const pod = ctx.podOf(ctx.node!.name);
    return pod ? { data: { podUid: pod.metadata.uid! } } : { fail: `node ${ctx.node!.name} has no Pod to restart (is it down?)` };
  },
  act: async (ctx, data) => {
    const pod = ctx.podOf(ctx.node!.name);
    if (pod && pod.metadata.uid === data.podUid && !pod.metadata.deletionTimestamp) await ctx.deletePod(pod.metadata.name!, data.podUid!);
  },
  check: (ctx, data) => podCheck(ctx, ctx.node!.name, (p) => p.metadata.uid !== data.podUid, `waiting for a new Pod of ${ctx.node!.name} to be Ready`),
};

const upgradeStep: StepDef = {
  name: 'upgrade',
  act: async (ctx) => {
    if (ctx.node!.image !== ctx.op.spec.image) await ctx.patchNode(ctx.node!.name, { image: ctx.op.spec.image! });
  },
  check: (ctx) => podCheck(ctx, ctx.node!.name, (p) => podImage(p) === ctx.op.spec.image, `waiting for node ${ctx.node!.name} to run ${ctx.op.spec.image} and be Ready`),
};

function cacheCarried(ctx: StepContext, version: string): StepCheck {
  const lagging = desiredNodes(ctx.app).filter((n) => !n.isBuilder && ctx.podOf(n.name) && ctx.podOf(n.name)!.metadata.annotations?.[ANNOTATIONS.cacheVersion] !== version);
  return lagging.length ? { state: 'wait', message: `waiting for ${lagging.map((n) => n.name).join(', ')} to carry cache ${version}` } : { state: 'done', message: `every node carries cache ${version}` };
}

const buildStep: StepDef = {
  name: 'build',
  prepare: (ctx) => ({ data: { build: String((ctx.app.status?.cache?.build ?? 0) + 1) } }),
  act: async (ctx, data) => {
    const build = Number(data.build);
    if ((ctx.app.status?.cache?.build ?? 0) < build) await ctx.patchCache({ phase: 'Building', build });
  },
  check: (ctx, data) => {
    const c = ctx.app.status?.cache;
    if (c?.phase === 'Ready' && c.build === Number(data.build)) return { state: 'done', message: `cache ${c.version} built` };
    const builder = desiredNodes(ctx.app).find((n) => n.isBuilder);
    const pod = builder && ctx.podOf(builder.name);
    const failure = pod && podFailure(pod);
    if (failure) return { state: 'failed', message: `the cache builder ${builder!.name} fails: ${failure}` };
    return { state: 'wait', message: `waiting for build ${data.build} of the cache` };
  },
};

const distributeStep: StepDef = {
  name: 'distribute',
  act: async () => undefined,
  check: (ctx) => {
    const v = ctx.app.status?.cache?.version;
    return v ? cacheCarried(ctx, v) : { state: 'wait', message: 'the cache has no version yet' };
  },
};

const copyJobName = (op: NodeOperation): string => `${op.spec.appCluster}-copy-${op.metadata.uid!.slice(0, 8)}`;

const copyStep: StepDef = {
  name: 'copy',
  prepare: (ctx) => {
    const src = ctx.appCluster(ctx.op.spec.source!.appCluster);
    const v = src?.status?.cache?.phase === 'Ready' ? src.status.cache.version : undefined;
    if (!src) return { fail: `the source AppCluster ${ctx.op.spec.source!.appCluster} does not exist` };
    if (!v) return { fail: `the source AppCluster ${src.metadata.name} has no Ready cache to copy` };
    return { data: { version: v } };
  },
  act: async (ctx, data) => {
    const name = copyJobName(ctx.op);
    if (ctx.job(name)) return;
    const builder = ctx.app.spec.roles.find((r) => r.name === ctx.app.spec.cache?.builder) ?? ctx.app.spec.roles[0]!;
    await ctx.createJob({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: ctx.app.metadata.namespace,
        labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.appCluster]: ctx.app.metadata.name!, [LABELS.operation]: ctx.op.metadata.name! },
        ownerReferences: [{ apiVersion: ctx.op.apiVersion, kind: 'NodeOperation', name: ctx.op.metadata.name, uid: ctx.op.metadata.uid, controller: true }],
      },
      spec: {
        backoffLimit: 2,
        template: {
          metadata: { labels: { [LABELS.operation]: ctx.op.metadata.name! } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'copy-cache', image: builder.image, args: ['copy-cache', '--from', ctx.op.spec.source!.appCluster, '--version', data.version!] }] },
        },
      },
    });
  },
  check: (ctx) => {
    const job = ctx.job(copyJobName(ctx.op));
    const st = (job?.status ?? {}) as { succeeded?: number; conditions?: { type: string; status: string; message?: string }[] };
    if ((st.succeeded ?? 0) >= 1) return { state: 'done', message: `Job ${copyJobName(ctx.op)} copied the cache` };
    const failed = st.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed) return { state: 'failed', message: `Job ${copyJobName(ctx.op)} failed: ${failed.message ?? ''}` };
    return { state: 'wait', message: `waiting for Job ${copyJobName(ctx.op)}` };
  },
};

const publishStep: StepDef = {
  name: 'publish',
  act: async (ctx) => {
    const data = ctx.op.status?.steps?.find((s) => s.name === 'copy')?.data ?? {};
    const c = ctx.app.status?.cache;
    if (c?.version !== data.version || c?.phase !== 'Ready') await ctx.patchCache({ phase: 'Ready', version: data.version!, copiedFrom: ctx.op.spec.source!.appCluster, build: c?.build ?? 1 });
  },
  check: (ctx) => {
    const data = ctx.op.status?.steps?.find((s) => s.name === 'copy')?.data ?? {};
    if (ctx.app.status?.cache?.version !== data.version) return { state: 'wait', message: `waiting for cache ${data.version} to be recorded` };
    return cacheCarried(ctx, data.version!);
  },
};

const STEPS: Record<string, StepDef> = Object.fromEntries(
  [
    trafficStep('dark', 'dark'), trafficStep('serve', 'serving'), startStep, stopStep, restartStep, upgradeStep, buildStep, distributeStep, copyStep, publishStep,
  ].map((s) => [s.name, s]),
);

/** The definition of a step by name. */
export function stepDef(name: string): StepDef | undefined {
  return Object.prototype.hasOwnProperty.call(STEPS, name) ? STEPS[name] : undefined;
}

/** The steps an operation runs, decided when it starts (and then kept in its status). */
export function planSteps(op: NodeOperation, app: AppCluster): string[] {
  const node = op.spec.node ? desiredNodes(app).find((n) => n.name === op.spec.node) : undefined;
  const hasService = node ? (app.spec.roles[node.roleIndex]?.ports?.length ?? 0) > 0 : false;
  const serving = node?.traffic === 'serving' && hasService && node.state === 'up';
  switch (op.spec.type) {
    case 'setTraffic':
      return [op.spec.traffic === 'dark' ? 'dark' : 'serve'];
    case 'stopNode':
      return serving ? ['dark', 'stop'] : ['stop'];
    case 'startNode':
      return hasService ? ['start', 'serve'] : ['start'];
    case 'restartNode':
      return serving ? ['dark', 'restart', 'serve'] : ['restart'];
    case 'upgradeNode':
      return serving ? ['dark', 'upgrade', 'serve'] : ['upgrade'];
    case 'rebuildCache':
      return ['build', 'distribute'];
    case 'copyCache':
      return ['copy', 'publish'];
  }
}

/** Why an operation cannot run on this AppCluster at all (checked before it starts), or undefined. */
export function invalidReason(op: NodeOperation, app: AppCluster | undefined): string | undefined {
  if (!app) return `AppCluster ${op.spec.appCluster} does not exist in namespace ${op.metadata.namespace}`;
  if (op.spec.node && !desiredNodes(app).some((n) => n.name === op.spec.node)) return `AppCluster ${app.metadata.name} has no node ${op.spec.node} (nodes: ${desiredNodes(app).map((n) => n.name).join(', ')})`;
  if ((op.spec.type === 'rebuildCache' || op.spec.type === 'copyCache') && !app.spec.cache) return `AppCluster ${app.metadata.name} has no spec.cache`;
  return undefined;
}

/** The progress line of an operation, e.g. "2/3 upgrade". */
export function progressOf(steps: OperationStep[]): string {
  const done = steps.filter((s) => s.phase === 'Succeeded').length;
  const current = steps.find((s) => s.phase !== 'Succeeded');
  return `${done}/${steps.length}${current ? ` ${current.name}` : ''}`;
}

/** The order operations of one AppCluster run in: oldest first, then by name. */
export function operationOrder(a: NodeOperation, b: NodeOperation): number {
  return String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) || String(a.metadata.name).localeCompare(String(b.metadata.name));
}
