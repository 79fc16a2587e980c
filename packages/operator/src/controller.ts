import { compareResourceVersions, isStatus, recordEvent, watchObjects, type KubeClient, type KubeObject, type WatchHandle } from '@ringmaster/kube';
import { API_VERSION, LABELS, MANAGED_BY, OPERATION_FIELD_MANAGER, OPERATOR_FIELD_MANAGER, REPORTING_CONTROLLER } from './constants.ts';
import { errorMessage, silentLogger, type Logger } from './log.ts';
import type { OperatorMetrics } from './metrics.ts';
import { DEFAULT_TEMPLATE, desiredNodes, podName, serviceName, type DesiredNode, type OperatorTemplate } from './nodes.ts';
import { invalidReason, isRisky, isTerminal, operationOrder, planSteps, progressOf, stepDef, type StepContext } from './operations.ts';
import { decide, isPaused, statusUnchanged, type Action } from './reconcile.ts';
import { WorkQueue } from './queue.ts';
import { mergePatchFor } from './merge-patch.ts';
import type { AppCluster, CacheStatus, Condition, NodeOperation, NodeOperationStatus, NodeOverride, OperationStep } from './types.ts';

/** Options of the controller. */
export interface ControllerOptions {
  /** Watch one namespace only (default: all namespaces). */
  namespace?: string;
  template?: OperatorTemplate;
  /** This process's identity (Events' reportingInstance; the Lease holder). */
  identity: string;
  logger?: Logger;
  metrics?: OperatorMetrics;
  /** Milliseconds between re-checks of a waiting operation step (default 2 s; events wake it sooner). */
  recheckMs?: number;
}

type CacheName = 'apps' | 'ops' | 'pods' | 'services' | 'configmaps' | 'slices' | 'jobs';

const selector = `${LABELS.managedBy}=${MANAGED_BY}`;
const TARGETS: Record<CacheName, { apiVersion: string; kind: string; labelSelector?: string }> = {
  apps: { apiVersion: API_VERSION, kind: 'AppCluster' },
  ops: { apiVersion: API_VERSION, kind: 'NodeOperation' },
  pods: { apiVersion: 'v1', kind: 'Pod', labelSelector: selector },
  services: { apiVersion: 'v1', kind: 'Service', labelSelector: selector },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap', labelSelector: selector },
  // the EndpointSlice controller copies the Service's labels onto its slices
  slices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', labelSelector: selector },
  jobs: { apiVersion: 'batch/v1', kind: 'Job', labelSelector: selector },
};

const nowIso = (): string => new Date().toISOString();

/**
 * The AppCluster controller: watches AppClusters, NodeOperations and the children it owns, and
 * reconciles one AppCluster per work-queue key (never two workers on one key). Each reconcile
 * first advances the AppCluster's one running NodeOperation, then applies `decide`'s plan and
 * writes status only when it changed.
 */
export class Controller {
  readonly queue: WorkQueue;
  private readonly watches = new Map<CacheName, WatchHandle>();
  /** Objects as this process last wrote them: newer than the watch cache until the watch catches up. */
  private readonly written = new Map<string, KubeObject>();
  private readonly template: OperatorTemplate;
  private readonly log: Logger;
  private readonly recheckMs: number;
  private stopped = false;

  constructor(private readonly client: KubeClient, private readonly opts: ControllerOptions) {
    this.template = opts.template ?? DEFAULT_TEMPLATE;
    this.log = opts.logger ?? silentLogger;
    this.recheckMs = opts.recheckMs ?? 2_000;
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      onError: (key, err, attempt) => {
        this.log.warn('reconcile failed; retrying with backoff', { appCluster: key, attempt, error: errorMessage(err) });
      },
    });
  }

  /** Starts the watches and resolves once every cache is synced and each AppCluster is queued. */
  async start(): Promise<void> {
    for (const [name, target] of Object.entries(TARGETS) as [CacheName, (typeof TARGETS)[CacheName]][]) {
      this.watches.set(name, watchObjects(this.client, { ...target, ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}) }, {
        onChange: (change) => this.enqueueFor(name, change.object),
        onError: (err) => this.log.warn('watch error; resuming', { kind: target.kind, error: errorMessage(err) }),
      }));
    }
    await Promise.all([...this.watches.values()].map((w) => w.synced));
    this.resyncAll();
  }

  /** Stops watches and the queue (work in flight finishes its current request). */
  stop(): void {
    this.stopped = true;
    this.queue.stop();
    for (const w of this.watches.values()) w.stop();
  }

  /** Queues every AppCluster (a full level-based pass). */
  resyncAll(): void {
    for (const app of this.objects('apps')) this.queue.add(keyOf(app));
  }

  private objects(name: CacheName): KubeObject[] {
    const w = this.watches.get(name);
    return w ? [...w.state.objects.values()].map((o) => this.freshest(o)) : [];
  }

  private get(name: CacheName, namespace: string, objName: string): KubeObject | undefined {
    const o = this.watches.get(name)?.state.objects.get(`${namespace}/${objName}`);
    const w = this.written.get(`${TARGETS[name].kind}/${namespace}/${objName}`);
    if (!o) return undefined;
    if (w && compareResourceVersions(w.metadata.resourceVersion, o.metadata.resourceVersion) === 1) return w;
    return o;
  }

  private freshest(o: KubeObject): KubeObject {
    const w = this.written.get(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
    return w && compareResourceVersions(w.metadata.resourceVersion, o.metadata.resourceVersion) === 1 ? w : o;
  }

  private remember(o: KubeObject): void {
    this.written.set(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, o);
  }

  private enqueueFor(name: CacheName, obj: KubeObject): void {
    const ns = obj.metadata.namespace ?? '';
    // forget what this process wrote once the watch has caught up with it
    const wk = `${obj.kind}/${ns}/${obj.metadata.name}`;
    const w = this.written.get(wk);
    if (w && compareResourceVersions(w.metadata.resourceVersion, obj.metadata.resourceVersion) !== 1) this.written.delete(wk);
    if (name === 'apps') this.queue.add(`${ns}/${obj.metadata.name}`);
    else if (name === 'ops') {
      const app = (obj.spec as { appCluster?: string } | undefined)?.appCluster;
      if (app) this.queue.add(`${ns}/${app}`);
    } else {
      const app = obj.metadata.labels?.[LABELS.appCluster];
      if (app) this.queue.add(`${ns}/${app}`);
    }
    this.opts.metrics?.queueDepth.set(this.queue.depth);
  }

  private count(kind: string, verb: string): void {
    this.opts.metrics?.writes.inc({ kind, verb });
  }

  private async event(regarding: KubeObject, reason: string, note: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    this.count('Event', 'create');
    try {
      await recordEvent(this.client, { regarding, reason, note, type, reportingController: REPORTING_CONTROLLER, reportingInstance: this.opts.identity.slice(0, 128) });
    } catch (err) {
      // an Event is a record, not the work: losing one must not fail the reconcile
      this.log.warn('could not record an Event', { reason, error: errorMessage(err) });
    }
  }

  /** One level-based pass over an AppCluster: its operation first, then its nodes, Services, cache and status. */
  async reconcile(key: string): Promise<void> {
    if (this.stopped) return;
    const end = this.opts.metrics?.reconcileSeconds.startTimer();
    const [namespace, name] = splitKey(key);
    try {
      let app = this.get('apps', namespace, name) as AppCluster | undefined;
      const ops = this.objects('ops').filter((o) => o.metadata.namespace === namespace && (o.spec as { appCluster?: string }).appCluster === name) as NodeOperation[];
      if (!app || app.metadata.deletionTimestamp) {
        // an operation may be applied together with its AppCluster (and seen first): it waits, it does not fail
        for (const op of ops.filter((o) => !isTerminal(o))) {
          if (op.status?.phase === 'Running') await this.finishOperation(op, 'Failed', 'AppClusterNotFound', invalidReason(op, undefined)!);
          else await this.pending(op, 'AppClusterNotFound', `${invalidReason(op, undefined)!}: waits for it`);
        }
        this.opts.metrics?.reconciles.inc({ result: 'gone' });
        return;
      }
      const active = await this.advanceOperations(app, ops);
      app = (this.get('apps', namespace, name) as AppCluster | undefined) ?? app;
      const plan = decide({
        app,
        pods: this.children('pods', app),
        services: this.children('services', app),
        configMap: this.children('configmaps', app)[0],
        template: this.template,
        now: nowIso(),
      });
      if (active) plan.status.activeOperation = active;
      else delete plan.status.activeOperation;
      for (const action of plan.actions) await this.execute(app, action);
      if (!statusUnchanged(app.status, plan.status)) {
        // a transition time is the only thing that may differ when nothing else did: keep the old one
        this.count('AppCluster', 'status');
        const updated = await this.client.mergePatch(refOfApp(app), { metadata: { resourceVersion: app.metadata.resourceVersion }, status: mergePatchFor(app.status ?? {}, plan.status) }, { fieldManager: OPERATOR_FIELD_MANAGER, subresource: 'status' });
        this.remember(updated);
        const was = readyOf(app.status?.conditions);
        const now = readyOf(plan.status.conditions);
        if (was !== now && now === 'True') await this.event(updated, 'Ready', 'every role is Ready');
        if (plan.status.cache?.phase === 'Ready' && app.status?.cache?.version !== plan.status.cache.version) await this.event(updated, 'CacheReady', `cache ${plan.status.cache.version} is Ready`);
      }
      this.opts.metrics?.reconciles.inc({ result: 'ok' });
    } catch (err) {
      this.opts.metrics?.reconciles.inc({ result: 'error' });
      throw err;
    } finally {
      end?.();
    }
  }

  private children(name: CacheName, app: AppCluster): KubeObject[] {
    return this.objects(name).filter((o) => o.metadata.namespace === app.metadata.namespace && o.metadata.labels?.[LABELS.appCluster] === app.metadata.name
      && (o.metadata.ownerReferences as { uid?: string }[] | undefined)?.some((r) => r.uid === app.metadata.uid));
  }

  private async execute(app: AppCluster, action: Action): Promise<void> {
    const ns = app.metadata.namespace!;
    try {
      switch (action.kind) {
        case 'createPod':
          this.count('Pod', 'create');
          this.remember(await this.client.create(action.pod, { fieldManager: OPERATOR_FIELD_MANAGER }));
          break;
        case 'deletePod':
          this.count('Pod', 'delete');
          await this.client.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: action.name }, { preconditionUid: action.uid });
          break;
        case 'patchPod':
          this.count('Pod', 'patch');
          this.remember(await this.client.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: action.name }, { metadata: action.metadata }, { fieldManager: OPERATOR_FIELD_MANAGER }));
          break;
        case 'apply':
          this.count(action.object.kind, 'apply');
          this.remember(await this.client.apply(action.object, { fieldManager: OPERATOR_FIELD_MANAGER, force: true }));
          break;
        case 'delete':
          this.count(action.object.kind, 'delete');
          await this.client.delete({ apiVersion: action.object.apiVersion, kind: action.object.kind, namespace: ns, name: action.object.metadata.name! });
          break;
      }
    } catch (err) {
      // another pass already did it (the cache was behind): the level is reached, nothing to record
      if (isStatus(err, 409) || isStatus(err, 404)) return;
      throw err;
    }
    this.log.info(action.note, { appCluster: `${ns}/${app.metadata.name}`, reason: action.reason });
    await this.event(app, action.reason, action.note);
  }

  // ---- NodeOperations ---------------------------------------------------------------------

  /** Advances this AppCluster's operations (one runs at a time); returns the running one's name. */
  private async advanceOperations(app: AppCluster, ops: NodeOperation[]): Promise<string | undefined> {
    const open = ops.filter((o) => !isTerminal(o)).sort(operationOrder);
    if (open.length === 0) return undefined;
    const paused = isPaused(app);
    let running = open.find((o) => o.status?.phase === 'Running');
    for (const op of open) {
      if (op === running) continue;
      const invalid = invalidReason(op, app);
      if (invalid) {
        await this.finishOperation(op, 'Failed', 'Invalid', invalid);
      } else if (isRisky(op) && op.spec.approved !== true) {
        await this.pending(op, 'AwaitingApproval', `${op.spec.type} is a risky operation: set spec.approved to true to run it`);
      } else if (paused) {
        await this.pending(op, 'Paused', `AppCluster ${app.metadata.name} is paused (ringmaster.dev/paused: "true")`);
      } else if (running) {
        await this.pending(op, 'Queued', `waits for NodeOperation ${running.metadata.name} (one operation at a time per AppCluster)`);
      } else {
        running = await this.startOperation(op, app);
      }
    }
    if (!running) return undefined;
    if (paused) return running.metadata.name;
    await this.runSteps(running);
    const after = this.get('ops', running.metadata.namespace!, running.metadata.name!) as NodeOperation | undefined;
    return after && !isTerminal(after) ? after.metadata.name : undefined;
  }

  private async writeOperationStatus(op: NodeOperation, status: NodeOperationStatus): Promise<NodeOperation> {
    this.count('NodeOperation', 'status');
    const updated = await this.client.mergePatch(
      { apiVersion: API_VERSION, kind: 'NodeOperation', namespace: op.metadata.namespace!, name: op.metadata.name! },
      // the resourceVersion makes this a compare-and-swap: a step is persisted exactly once, before it acts
      { metadata: { resourceVersion: op.metadata.resourceVersion }, status: mergePatchFor(op.status ?? {}, status) },
      { fieldManager: OPERATOR_FIELD_MANAGER, subresource: 'status' },
    ) as NodeOperation;
    this.remember(updated);
    return updated;
  }

  private condition(op: NodeOperation, type: string, status: Condition['status'], reason: string, message: string): Condition[] {
    const others = (op.status?.conditions ?? []).filter((c) => c.type !== type);
    const old = op.status?.conditions?.find((c) => c.type === type);
    const lastTransitionTime = old && old.status === status ? (old.lastTransitionTime ?? nowIso()) : nowIso();
    return [...others, { type, status, reason, message, lastTransitionTime, observedGeneration: op.metadata.generation }];
  }

  private async pending(op: NodeOperation, reason: string, message: string): Promise<void> {
    const s = op.status;
    if (s?.phase === 'Pending' && s.reason === reason && s.message === message && s.observedGeneration === op.metadata.generation) return;
    const approved = isRisky(op) ? (op.spec.approved === true ? 'True' : 'False') : 'True';
    await this.writeOperationStatus(op, {
      ...s,
      phase: 'Pending',
      reason,
      message,
      observedGeneration: op.metadata.generation,
      conditions: this.condition(op, 'Approved', approved, approved === 'True' ? 'Approved' : 'AwaitingApproval', approved === 'True' ? 'the operation may run' : 'spec.approved is not true'),
    });
    if (s?.reason !== reason) await this.event(op, reason, message);
  }

  private async startOperation(op: NodeOperation, app: AppCluster): Promise<NodeOperation> {
    const steps: OperationStep[] = planSteps(op, app).map((name) => ({ name, phase: 'Pending' }));
    const updated = await this.writeOperationStatus(op, {
      ...op.status,
      phase: 'Running',
      reason: 'Running',
      message: `steps: ${steps.map((s) => s.name).join(' → ')}`,
      observedGeneration: op.metadata.generation,
      startedAt: nowIso(),
      steps,
      progress: progressOf(steps),
      conditions: this.condition(op, 'Approved', 'True', 'Approved', 'the operation may run'),
    });
    await this.event(updated, 'OperationStarted', `${op.spec.type}${op.spec.node ? ` of node ${op.spec.node}` : ''} on AppCluster ${app.metadata.name}: ${steps.map((s) => s.name).join(' → ')}`);
    return updated;
  }

  private async finishOperation(op: NodeOperation, phase: 'Succeeded' | 'Failed', reason: string, message: string, steps?: OperationStep[]): Promise<void> {
    const updated = await this.writeOperationStatus(op, {
      ...op.status,
      phase,
      reason,
      message,
      observedGeneration: op.metadata.generation,
      completedAt: nowIso(),
      ...(steps ? { steps, progress: progressOf(steps) } : {}),
    });
    this.opts.metrics?.operations.inc({ type: op.spec.type, phase });
    await this.event(updated, phase === 'Succeeded' ? 'OperationSucceeded' : 'OperationFailed', message, phase === 'Succeeded' ? 'Normal' : 'Warning');
    // the AppCluster's Events tell its history too
    const app = this.get('apps', op.metadata.namespace!, op.spec.appCluster);
    if (app) await this.event(app, phase === 'Succeeded' ? 'OperationSucceeded' : 'OperationFailed', `NodeOperation ${op.metadata.name} (${op.spec.type}): ${message}`, phase === 'Succeeded' ? 'Normal' : 'Warning');
  }

  /** Runs the operation's steps in order as far as the world allows; every step is persisted Running before it acts. */
  private async runSteps(initial: NodeOperation): Promise<void> {
    let op = initial;
    const ns = op.metadata.namespace!;
    const key = `${ns}/${op.spec.appCluster}`;
    const timeoutMs = (op.spec.stepTimeoutSeconds ?? 600) * 1000;
    for (let i = 0; i < (op.status?.steps?.length ?? 0); i++) {
      const steps = op.status!.steps!;
      const step = steps[i]!;
      if (step.phase === 'Succeeded') continue;
      if (step.phase === 'Failed') return this.finishOperation(op, 'Failed', 'StepFailed', `step ${step.name} failed: ${step.message ?? ''}`);
      const def = stepDef(step.name);
      if (!def) return this.finishOperation(op, 'Failed', 'UnknownStep', `step ${step.name} is not known to this operator version`);
      const app = this.get('apps', ns, op.spec.appCluster) as AppCluster | undefined;
      if (!app) return this.finishOperation(op, 'Failed', 'AppClusterNotFound', invalidReason(op, undefined)!);
      if (step.phase === 'Pending') {
        const prep = def.prepare?.(this.stepContext(app, op)) ?? {};
        if (prep.fail !== undefined) {
          const failed = withStep(steps, i, { phase: 'Failed', message: prep.fail, finishedAt: nowIso() });
          await this.event(op, 'StepFailed', `step ${step.name}: ${prep.fail}`, 'Warning');
          return this.finishOperation(op, 'Failed', 'StepFailed', `step ${step.name} failed: ${prep.fail}`, failed);
        }
        const next = withStep(steps, i, { phase: 'Running', startedAt: nowIso(), ...(prep.data ? { data: prep.data } : {}) });
        op = await this.writeOperationStatus(op, { ...op.status, steps: next, progress: progressOf(next), message: `step ${step.name} running` });
        await this.event(op, 'StepStarted', `step ${i + 1}/${steps.length} ${step.name} started`);
      }
      const current = op.status!.steps![i]!;
      await def.act(this.stepContext(app, op), current.data ?? {});
      const fresh = (this.get('apps', ns, op.spec.appCluster) as AppCluster | undefined) ?? app;
      const check = def.check(this.stepContext(fresh, op), current.data ?? {});
      if (check.state === 'done') {
        const next = withStep(op.status!.steps!, i, { phase: 'Succeeded', finishedAt: nowIso(), ...(check.message ? { message: check.message } : {}) });
        op = await this.writeOperationStatus(op, { ...op.status, steps: next, progress: progressOf(next) });
        await this.event(op, 'StepSucceeded', `step ${i + 1}/${steps.length} ${step.name} succeeded${check.message ? `: ${check.message}` : ''}`);
        continue;
      }
      const startedAt = Date.parse(current.startedAt ?? '') || Date.now();
      const failure = check.state === 'failed' ? check.message : Date.now() - startedAt > timeoutMs ? `timed out after ${timeoutMs / 1000} s: ${check.message}` : undefined;
      if (failure) {
        const next = withStep(op.status!.steps!, i, { phase: 'Failed', finishedAt: nowIso(), message: failure });
        await this.event(op, 'StepFailed', `step ${i + 1}/${steps.length} ${step.name} failed: ${failure}`, 'Warning');
        return this.finishOperation(op, 'Failed', 'StepFailed', `step ${step.name} failed: ${failure}`, next);
      }
      if (current.message !== check.message) {
        const next = withStep(op.status!.steps!, i, { message: check.message });
        op = await this.writeOperationStatus(op, { ...op.status, steps: next, message: check.message });
      }
      // events (Pods, EndpointSlices, Jobs) wake the key sooner; this bounds the wait for a timeout
      this.queue.after(key, this.recheckMs);
      return;
    }
    return this.finishOperation(op, 'Succeeded', 'Succeeded', `${op.spec.type}${op.spec.node ? ` of node ${op.spec.node}` : ''} succeeded`, op.status?.steps);
  }

  private stepContext(app: AppCluster, op: NodeOperation): StepContext {
    const ns = app.metadata.namespace!;
    const appName = app.metadata.name!;
    const node: DesiredNode | undefined = op.spec.node ? desiredNodes(app).find((n) => n.name === op.spec.node) : undefined;
    return {
      app,
      op,
      ...(node ? { node } : {}),
      podOf: (n) => {
        const p = this.get('pods', ns, podName(appName, n));
        return p && (p.metadata.ownerReferences as { uid?: string }[] | undefined)?.some((r) => r.uid === app.metadata.uid) ? p : undefined;
      },
      inEndpoints: (n) => {
        const role = app.spec.roles[n.roleIndex];
        if (!role?.ports?.length) return undefined;
        const svc = serviceName(appName, role.name);
        const pod = podName(appName, n.name);
        return this.objects('slices').some((s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === svc
          && ((s.endpoints ?? []) as { targetRef?: { name?: string }; conditions?: { ready?: boolean } }[]).some((e) => e.targetRef?.name === pod && e.conditions?.ready !== false));
      },
      appCluster: (n) => this.get('apps', ns, n) as AppCluster | undefined,
      job: (n) => this.get('jobs', ns, n),
      patchNode: async (n: string, fields: Omit<NodeOverride, 'name'>) => {
        this.count('AppCluster', 'patch');
        const fresh = (this.get('apps', ns, appName) as AppCluster | undefined) ?? app;
        this.remember(await this.client.request<KubeObject>('PATCH', await this.client.objectPath(refOfApp(app)), {
          body: nodePatch(fresh, n, fields),
          contentType: 'application/json-patch+json',
          query: { fieldManager: OPERATION_FIELD_MANAGER },
        }));
        await this.event(app, 'NodeOverridden', `NodeOperation ${op.metadata.name} set spec.nodes[${n}] ${JSON.stringify(fields)}`);
      },
      patchCache: async (cache: Partial<CacheStatus>) => {
        this.count('AppCluster', 'status');
        this.remember(await this.client.mergePatch(refOfApp(app), { status: { cache } }, { fieldManager: OPERATOR_FIELD_MANAGER, subresource: 'status' }));
      },
      deletePod: async (name: string, uid: string) => {
        this.count('Pod', 'delete');
        try {
          await this.client.delete({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name }, { preconditionUid: uid });
        } catch (err) {
          if (!isStatus(err, 409) && !isStatus(err, 404)) throw err;
        }
        await this.event(app, 'NodeRestarted', `NodeOperation ${op.metadata.name} deleted Pod ${name} (uid ${uid})`);
      },
      createJob: async (job: KubeObject) => {
        this.count('Job', 'create');
        try {
          this.remember(await this.client.create(job, { fieldManager: OPERATOR_FIELD_MANAGER }));
        } catch (err) {
          if (!isStatus(err, 409)) throw err;
        }
      },
    };
  }
}

function withStep(steps: OperationStep[], i: number, patch: Partial<OperationStep>): OperationStep[] {
  return steps.map((s, j) => (j === i ? { ...s, ...patch } : s));
}

function readyOf(conds: Condition[] | undefined): string | undefined {
  return conds?.find((c) => c.type === 'Ready')?.status;
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function refOfApp(app: AppCluster) {
  return { apiVersion: API_VERSION, kind: 'AppCluster', namespace: app.metadata.namespace!, name: app.metadata.name! };
}

/**
 * The JSON Patch (RFC 6902) that sets fields of one node's entry in spec.nodes: `test` guards the
 * entry's index (a concurrent edit makes the patch fail and the step retry) and nothing else of the
 * list is touched.
 */
export function nodePatch(app: AppCluster, node: string, fields: Omit<NodeOverride, 'name'>): unknown[] {
  const list = app.spec.nodes;
  if (!list) return [{ op: 'add', path: '/spec/nodes', value: [{ name: node, ...fields }] }];
  const i = list.findIndex((n) => n.name === node);
  if (i < 0) return [{ op: 'test', path: '/spec/nodes', value: list }, { op: 'add', path: '/spec/nodes/-', value: { name: node, ...fields } }];
  return [{ op: 'test', path: `/spec/nodes/${i}/name`, value: node }, ...Object.entries(fields).map(([k, v]) => ({ op: 'add', path: `/spec/nodes/${i}/${k}`, value: v }))];
}
