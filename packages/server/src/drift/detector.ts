import {
  ANNOTATIONS, applyObjects, AuditLogReader, FIELD_MANAGER, groupOf, identityKey, inventoryId, LABELS, refOf, watchObjects,
  type KubeClient, type KubeObject, type ObjectRef, type WatchHandle, type WatchState,
} from '@ringmaster/kube';
import type { Fleet, RenderedInstance } from '@ringmaster/fleet';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../storage/schema.ts';
import { UnavailableError } from '../errors.ts';
import { eventInputSchema, type EventInput } from '../ingest/event-schema.ts';
import { inventoryFor } from '../delivery/direct.ts';
import { applicationName, ARGO_API_VERSION } from '../delivery/argocd.ts';
import type { FlightingContext, Logger } from '../flighting/context.ts';
import { deliveryOf } from '../flighting/releases.ts';
import type { ImageOverride } from '../flighting/model.ts';
import { objectDrift, type DriftField } from './compare.ts';
import { driftPolicy, type DriftPolicy } from './policy.ts';
import { forgetObjects, storeFinding, toRecord, type DriftAudit, type DriftRecord, type FindingChange } from './store.ts';

export { driftPolicy, type DriftPolicy } from './policy.ts';

/** Server options for drift detection (docs/api.md, docs/fleet-format.md). */
export interface DriftOptions {
  /** false: no detection (the API still lists what is stored). Default true when flighting is configured. */
  enabled?: boolean;
  /** Per cluster: the kube-apiserver audit log file (JSON lines) to name who made a change. */
  auditLogs?: Record<string, string>;
  /** How often the delivered instances are read again, in ms (default 3000). */
  refreshMs?: number;
  /** Least time between two self-heals of one instance, in ms (default 5000): a controller fighting back is not healed in a hot loop. */
  healBackoffMs?: number;
}

/**
 * Who may act for the fleet: the flighting engine (FlightEngine satisfies it). On PostgreSQL several
 * replicas may serve one database; only the engine lease holder acts, and the detector follows it.
 */
export interface DriftLeader {
  /** True while this replica acts (SQLite: always; PostgreSQL: while its engine holds the lease). */
  readonly acting: boolean;
  /** The database to write through: fenced by the lease, so a replica that lost it cannot write. */
  readonly db: Kysely<Database>;
}

/** One delivered instance being watched. */
interface Target {
  cluster: string;
  instance: string;
  app: string;
  ring: string | null;
  namespace: string;
  releaseId: string;
  digest: string;
  mode: 'direct' | 'argocd';
  context?: string;
  argo?: { namespace: string };
  /** Desired objects by identityKey, as Ringmaster applies them (with the inventory annotation). */
  objects: Map<string, KubeObject>;
  policy: DriftPolicy;
}

interface ClusterWatch {
  client: KubeClient;
  /** By `group/Kind`. */
  kinds: Map<string, { handle: WatchHandle; apiVersion: string; kind: string; resource?: string }>;
  /** Users Ringmaster itself acts as on this cluster (skipped when naming who changed something). */
  ownUsers?: string[];
}

const targetKey = (cluster: string, instance: string) => `${cluster}\0${instance}`;
const kindKey = (apiVersion: string, kind: string) => `${groupOf(apiVersion)}/${kind}`;
const nsName = (ref: ObjectRef) => (ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);

/** What the detector counts (the benchmark and /metrics read them). */
export interface DriftStats {
  evaluations: number;
  heals: number;
  watches: number;
  objects: number;
}

/**
 * Continuous drift detection of every delivered instance. Direct mode: one watch per cluster and
 * kind, each change compared with the instance's desired state as server-side apply sees it
 * (compare.ts); Argo CD mode: the Application's sync status and resources decide, the fields come
 * from the live objects where the cluster is reachable. Findings are stored (drift_fields), so a
 * restart finds them again; resolved ones are deleted. Self-heal re-applies (direct) or asks Argo
 * CD to sync. Every detection, resolution and heal is a journey event.
 */
export class DriftDetector {
  readonly stats: DriftStats = { evaluations: 0, heals: 0, watches: 0, objects: 0 };
  private readonly targets = new Map<string, Target>();
  /** cluster → identityKey → target key */
  private readonly index = new Map<string, Map<string, string>>();
  private readonly watches = new Map<string, ClusterWatch>();
  /** Serialises the evaluations of one cluster. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly audits = new Map<string, AuditLogReader>();
  private readonly lastHeal = new Map<string, number>();
  private readonly retries = new Map<string, number>();
  /** Ringmaster's own user names on a workload cluster reached in Argo CD mode (skipped when naming who changed something). */
  private readonly argoUsers = new Map<string, Promise<string[]>>();
  private argo: { client: KubeClient; handle: WatchHandle; namespace: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = true;
  private busy = new Set<string>();
  private policyRelease: string | undefined;
  private policyFleet: Fleet | undefined;
  /** Resolves after the next refresh completes (tests, heal/adopt callers). */
  private waiters: Array<() => void> = [];
  /** A wake() came while a refresh ran: refresh again as soon as it ends. */
  private again = false;
  /** Whether the last refresh acted (false: another replica holds the engine lease; this one serves reads). */
  private leading = false;

  constructor(private readonly ctx: FlightingContext, private readonly options: DriftOptions, private readonly log: Logger, private readonly leader?: DriftLeader) {
    for (const [cluster, path] of Object.entries(options.auditLogs ?? {})) this.audits.set(cluster, new AuditLogReader(path));
  }

  /** Whether this detector acts (watches, stores drift, heals) or only serves what the acting replica stored. */
  get acting(): boolean {
    return this.leader ? this.leader.acting : true;
  }

  /** Where findings are written: the leader's fenced database, else the shared one. */
  private get db(): Kysely<Database> {
    return this.leader ? this.leader.db : this.ctx.storage.db;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.refreshing;
    for (const w of this.watches.values()) for (const k of w.kinds.values()) k.handle.stop();
    this.watches.clear();
    this.argo?.handle.stop();
    this.argo = undefined;
    await Promise.all(this.chains.values());
  }

  /** Reads the delivered instances again at once (the engine calls it after it delivered; adopt, tests). */
  wake(): void {
    if (this.stopped) return;
    if (this.refreshing) this.again = true;
    else this.schedule(0);
  }

  /** Resolves once a refresh that starts after this call has finished. */
  async refreshed(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      this.wake();
    });
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refreshing = this.refresh().catch((err) => this.log.warn({ err: (err as Error).message }, 'drift: reading delivered instances failed')).finally(() => {
        this.refreshing = undefined;
        const again = this.again;
        this.again = false;
        // a waiter that came during this refresh waits for the next one
        if (!again) for (const w of this.waiters.splice(0)) w();
        if (!this.stopped) this.schedule(again ? 0 : this.options.refreshMs ?? 3000);
      });
    }, ms);
  }

  /** Stops watching and forgets every target: another replica acts, this one serves reads. */
  private standDown(): void {
    for (const w of this.watches.values()) for (const k of w.kinds.values()) k.handle.stop();
    this.watches.clear();
    this.argo?.handle.stop();
    this.argo = undefined;
    this.targets.clear();
    this.index.clear();
    this.retries.clear();
    this.busy = new Set();
    this.stats.watches = 0;
    this.stats.objects = 0;
  }

  /** A delivered instance as a target: its release's render, objects and policy (undefined when its release or render is gone). */
  private async deliveredTarget(row: Selectable<Database['delivered']>, releases: Map<string, { revision: string; override: ImageOverride | null }>): Promise<Target | undefined> {
    const db = this.ctx.storage.db;
    let rel = releases.get(row.release_id);
    if (!rel) {
      const r = await db.selectFrom('releases').select(['revision', 'override']).where('id', '=', row.release_id).executeTakeFirst();
      if (!r) return undefined;
      rel = { revision: r.revision, override: r.override ? (JSON.parse(r.override) as ImageOverride) : null };
      releases.set(row.release_id, rel);
    }
    let rendered: { fleet: Fleet; instances: Map<string, RenderedInstance> };
    try {
      rendered = await this.ctx.renderer.render(rel.revision, rel.override);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, release: row.release_id }, 'drift: rendering the delivered release failed');
      return undefined;
    }
    const inst = rendered.instances.get(row.instance);
    const clusterSpec = rendered.fleet.clusters.get(row.cluster);
    if (!inst || !clusterSpec) return undefined;
    const delivery = deliveryOf(clusterSpec);
    return {
      cluster: row.cluster, instance: row.instance, app: row.app, ring: clusterSpec.ring, namespace: row.namespace, releaseId: row.release_id, digest: row.digest,
      mode: delivery.mode, ...(delivery.mode === 'direct' && delivery.context ? { context: delivery.context } : {}),
      ...(delivery.mode === 'argocd' ? { argo: { namespace: delivery.namespace } } : {}),
      objects: new Map(inst.objects.map((o) => {
        const obj = structuredClone(o.object) as KubeObject;
        if (delivery.mode === 'direct') obj.metadata.annotations = { ...obj.metadata.annotations, [ANNOTATIONS.inventory]: inventoryId(inventoryFor(row.instance, row.namespace)) };
        return [identityKey(refOf(obj)), obj];
      })),
      policy: driftPolicy(rendered.fleet, row.instance),
    };
  }

  /** Reads the delivered table and the steps in flight; (re)builds targets and watches; re-evaluates what changed. */
  private async refresh(): Promise<void> {
    if (!this.acting) {
      if (this.leading) {
        this.log.info({}, 'drift: another replica holds the engine lease; this one stops watching and serves the drift it stores');
        this.standDown();
      }
      this.leading = false;
      return;
    }
    if (!this.leading) {
      if (this.leader) this.log.info({}, 'drift: this replica holds the engine lease; watching every delivered instance');
      this.leading = true;
    }
    const db = this.ctx.storage.db;
    const write = this.db;
    const rows = await db.selectFrom('delivered').selectAll().execute();
    const inflight = await db.selectFrom('release_steps').select('cluster').where('state', '=', 'in_progress').execute();
    const wasBusy = this.busy;
    this.busy = new Set(inflight.map((r) => r.cluster));
    const releases = new Map<string, { revision: string; override: ImageOverride | null }>();
    const seen = new Set<string>();
    const changed: Target[] = [];
    for (const row of rows) {
      const key = targetKey(row.cluster, row.instance);
      seen.add(key);
      const old = this.targets.get(key);
      if (old && old.digest === row.digest && old.releaseId === row.release_id) {
        if (wasBusy.has(row.cluster) && !this.busy.has(row.cluster)) changed.push(old);
        continue;
      }
      const target = await this.deliveredTarget(row, releases);
      if (!target) continue;
      if (old) this.unindex(old);
      this.targets.set(key, target);
      this.indexTarget(target);
      changed.push(target);
    }
    for (const [key, t] of this.targets) {
      if (seen.has(key)) continue;
      this.unindex(t);
      this.targets.delete(key);
      await forgetObjects(write, t.cluster, t.instance, new Set()).then((gone) => this.emitResolved(t, gone));
    }
    const repolicied = await this.refreshPolicies();
    // a target whose self-heal turned on is looked at again: drift found a moment before the policy arrived is healed now
    for (const t of repolicied) if (!changed.includes(t)) changed.push(t);
    this.stats.objects = [...this.targets.values()].reduce((n, t) => n + t.objects.size, 0);
    await this.ensureWatches();
    for (const t of changed) {
      const gone = await forgetObjects(write, t.cluster, t.instance, new Set(t.objects.keys()));
      this.emitResolved(t, gone);
      if (t.mode === 'direct') for (const k of t.objects.keys()) this.enqueue(t.cluster, () => this.evaluate(t, k));
      else this.enqueueArgo(t);
    }
  }

  /**
   * Drift policy is fleet configuration, not a delivered manifest: a release that changes only the
   * policy delivers nothing new, so every target takes its policy from the newest succeeded release.
   * Returns the targets whose self-heal changed (to look at again; an Argo CD Application to set again).
   */
  private async refreshPolicies(): Promise<Target[]> {
    const latest = await this.ctx.storage.db.selectFrom('releases').select(['id', 'revision', 'override']).where('state', '=', 'succeeded')
      .orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (!latest) return [];
    if (latest.id !== this.policyRelease) {
      try {
        this.policyFleet = (await this.ctx.renderer.render(latest.revision, latest.override ? (JSON.parse(latest.override) as ImageOverride) : null)).fleet;
        this.policyRelease = latest.id;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, release: latest.id }, 'drift: reading the drift policy of the latest release failed');
        return [];
      }
    }
    const changed: Target[] = [];
    for (const t of this.targets.values()) {
      if (!this.policyFleet?.instances.has(t.instance)) continue;
      const policy = driftPolicy(this.policyFleet, t.instance);
      if (policy.selfHeal !== t.policy.selfHeal) changed.push(t);
      t.policy = policy;
    }
    return changed;
  }

  private indexTarget(t: Target): void {
    if (t.mode !== 'direct') return;
    let m = this.index.get(t.cluster);
    if (!m) this.index.set(t.cluster, (m = new Map()));
    for (const k of t.objects.keys()) m.set(k, targetKey(t.cluster, t.instance));
  }

  private unindex(t: Target): void {
    const m = this.index.get(t.cluster);
    if (!m) return;
    for (const k of t.objects.keys()) if (m.get(k) === targetKey(t.cluster, t.instance)) m.delete(k);
  }

  private clientOf(t: Pick<Target, 'cluster' | 'context'>): KubeClient {
    return this.ctx.clients.forCluster(t.cluster, t.context);
  }

  /** One watch per (cluster, kind) that some direct target delivers; stops watches nobody needs any more. */
  private async ensureWatches(): Promise<void> {
    const wanted = new Map<string, { client: KubeClient; kinds: Map<string, { apiVersion: string; kind: string }> }>();
    for (const t of this.targets.values()) {
      if (t.mode !== 'direct') continue;
      let w = wanted.get(t.cluster);
      if (!w) {
        try {
          w = { client: this.clientOf(t), kinds: new Map() };
        } catch (err) {
          this.log.warn({ cluster: t.cluster, err: (err as Error).message }, 'drift: no usable kubeconfig for the cluster');
          continue;
        }
        wanted.set(t.cluster, w);
      }
      for (const o of t.objects.values()) w.kinds.set(kindKey(o.apiVersion, o.kind), { apiVersion: o.apiVersion, kind: o.kind });
    }
    for (const [cluster, w] of this.watches) {
      const want = wanted.get(cluster);
      for (const [k, h] of w.kinds) {
        if (want?.kinds.has(k)) continue;
        h.handle.stop();
        w.kinds.delete(k);
      }
      if (!want) this.watches.delete(cluster);
    }
    for (const [cluster, want] of wanted) {
      let w = this.watches.get(cluster);
      if (!w) {
        w = { client: want.client, kinds: new Map() };
        this.watches.set(cluster, w);
        void this.ownUsers(w);
      }
      for (const [k, spec] of want.kinds) {
        if (w.kinds.has(k)) continue;
        const entry = { apiVersion: spec.apiVersion, kind: spec.kind, handle: undefined as unknown as WatchHandle, resource: undefined as string | undefined };
        entry.handle = watchObjects(w.client, { apiVersion: spec.apiVersion, kind: spec.kind }, {
          onChange: (change) => this.onChange(cluster, change.object),
          onSync: (state) => this.onSync(cluster, spec.apiVersion, spec.kind, state),
          onError: (err) => this.log.warn({ cluster, kind: spec.kind, err: (err as Error).message }, 'drift: watch error (retrying)'),
        });
        w.kinds.set(k, entry);
        w.client.resourceFor(spec.apiVersion, spec.kind).then((r) => (entry.resource = r.resource), () => undefined);
      }
    }
    this.stats.watches = [...this.watches.values()].reduce((n, w) => n + w.kinds.size, 0);
    await this.ensureArgoWatch();
  }

  /** Learns the user names Ringmaster acts as on a cluster (SelfSubjectReview), so its own writes are not "who changed it". */
  private async ownUsers(w: ClusterWatch): Promise<void> {
    w.ownUsers = await selfUsers(w.client);
  }

  private onChange(cluster: string, obj: KubeObject): void {
    let key: string;
    try {
      key = identityKey(refOf(obj));
    } catch {
      return;
    }
    const tk = this.index.get(cluster)?.get(key);
    if (!tk) return;
    const t = this.targets.get(tk);
    if (t) this.enqueue(cluster, () => this.evaluate(t, key));
  }

  private onSync(cluster: string, apiVersion: string, kind: string, state: WatchState): void {
    // a relist after an outage: objects deleted meanwhile were reported as DELETED by the relist; the ones never seen are missing
    for (const [key, tk] of this.index.get(cluster) ?? []) {
      const t = this.targets.get(tk);
      const obj = t?.objects.get(key);
      if (!t || !obj || kindKey(obj.apiVersion, obj.kind) !== kindKey(apiVersion, kind)) continue;
      if (!state.objects.has(nsName(refOf(obj)))) this.enqueue(cluster, () => this.evaluate(t, key));
    }
  }

  private enqueue(cluster: string, fn: () => Promise<void>): void {
    const next = (this.chains.get(cluster) ?? Promise.resolve()).then(() => (this.stopped ? undefined : fn()))
      .catch((err) => this.log.warn({ cluster, err: (err as Error).message }, 'drift: evaluating an object failed'));
    this.chains.set(cluster, next);
  }

  /** The live object of a target's object, from the watch cache (undefined: absent; null: the cache is not synced yet). */
  private cached(t: Target, key: string): KubeObject | undefined | null {
    const obj = t.objects.get(key)!;
    const w = this.watches.get(t.cluster)?.kinds.get(kindKey(obj.apiVersion, obj.kind));
    if (!w) return null;
    const state = w.handle.state;
    if (state.resourceVersion === '') return null;
    return state.objects.get(nsName(refOf(obj)));
  }

  /** Compares one delivered object with its live state and stores the finding. */
  private async evaluate(t: Target, key: string): Promise<void> {
    if (this.stopped || this.targets.get(targetKey(t.cluster, t.instance)) !== t) return;
    // while a release step delivers to the cluster, what is live is on its way to a new desired state
    if (this.busy.has(t.cluster)) return;
    const desired = t.objects.get(key);
    if (!desired) return;
    const live = this.cached(t, key);
    if (live === null) return;
    this.stats.evaluations++;
    const drift = objectDrift(desired, live, t.policy.ignore, { deliveryManager: FIELD_MANAGER });
    const ref = refOf(desired);
    const w = this.watches.get(t.cluster);
    const audit = drift === 'missing' || drift.length ? this.auditOf(t.cluster, w?.kinds.get(kindKey(desired.apiVersion, desired.kind))?.resource, w?.ownUsers, desired, drift) : undefined;
    const change = await storeFinding(this.db, { cluster: t.cluster, instance: t.instance, app: t.app, ring: t.ring, releaseId: t.releaseId, ref, drift, ...(audit ? { audit } : {}) }, this.ctx.now());
    this.emitChange(t, change);
    if (drift !== 'missing' && drift.length === 0) {
      this.retries.delete(`${t.cluster}\0${key}`);
      return;
    }
    // the audit line can trail the watch event by a moment: look again shortly (and heal once the person is known, or given up on)
    if (!audit && this.lookAgain(t.cluster, key, () => this.evaluate(t, key))) return;
    if (t.policy.selfHeal) await this.heal(t, 'policy');
  }

  /** Schedules another evaluation while the cluster's audit log may still be catching up (five times at most); false once given up. */
  private lookAgain(cluster: string, key: string, fn: () => Promise<void>): boolean {
    if (!this.audits.has(cluster)) return false;
    const rk = `${cluster}\0${key}`;
    const n = this.retries.get(rk) ?? 0;
    if (n >= 5) return false;
    this.retries.set(rk, n + 1);
    setTimeout(() => this.enqueue(cluster, fn), 200 * (n + 1)).unref();
    return true;
  }

  /** Who last wrote the object (its plural `resource`), from the cluster's audit log (writes by Ringmaster itself, `ownUsers`, skipped). */
  private auditOf(cluster: string, resource: string | undefined, ownUsers: string[] | undefined, desired: KubeObject, drift: DriftField[] | 'missing'): DriftAudit | undefined {
    const reader = this.audits.get(cluster);
    if (!reader || !resource) return undefined;
    const ref = refOf(desired);
    const write = reader.latestWrite({ group: groupOf(desired.apiVersion), resource, namespace: ref.namespace, name: ref.name }, { exceptUsers: ownUsers ?? [] });
    if (!write) return undefined;
    // the write must be the change: not older than the field's managedFields time (second precision)
    const times = drift === 'missing' ? [] : drift.map((d) => d.time).filter((x): x is string => !!x).map(Date.parse);
    const changed = times.length ? Math.max(...times) : 0;
    if (drift === 'missing' ? write.verb !== 'delete' : Date.parse(write.time) < changed - 1000) return undefined;
    return { user: write.user, verb: write.verb, time: write.time };
  }

  private emitChange(t: Target, change: FindingChange): void {
    if (change.added.length) {
      void this.emit([{
        kind: 'drift', status: 'detected', cluster: t.cluster, instance: t.instance, app: t.app, ...(t.ring ? { ring: t.ring } : {}), release: t.releaseId,
        data: { fields: change.added.slice(0, 50).map(summary) },
      }]);
    }
    this.emitResolved(t, change.resolved);
  }

  private emitResolved(t: Pick<Target, 'cluster' | 'instance' | 'app' | 'ring' | 'releaseId'>, resolved: DriftRecord[]): void {
    if (!resolved.length) return;
    void this.emit([{
      kind: 'drift', status: 'resolved', cluster: t.cluster, instance: t.instance, app: t.app, ...(t.ring ? { ring: t.ring } : {}), release: t.releaseId,
      data: { fields: resolved.slice(0, 50).map(summary) },
    }]);
  }

  private async emit(events: EventInput[]): Promise<void> {
    try {
      await this.ctx.record(events.map((e) => eventInputSchema.parse(e)));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'drift: recording journey events failed');
    }
  }

  /** The target of an instance (on one cluster, or the only one it is delivered to). */
  targetOf(instance: string, cluster?: string): Target | undefined {
    if (cluster) return this.targets.get(targetKey(cluster, instance));
    return [...this.targets.values()].find((t) => t.instance === instance);
  }

  /**
   * Restores an instance's desired state: re-applies its drifted objects (direct) or asks Argo CD to
   * sync the Application; records the heal, with the drift it undid, on the journey.
   */
  async heal(t: Target, by: string): Promise<{ healed: DriftRecord[]; skipped?: string }> {
    if (!this.acting) throw new UnavailableError('this replica does not hold the engine lease: the replica that holds it watches and heals drift; try again (another replica answers)');
    const now = this.ctx.now();
    const tk = targetKey(t.cluster, t.instance);
    const last = this.lastHeal.get(tk) ?? 0;
    if (by === 'policy' && now - last < (this.options.healBackoffMs ?? 5000)) return { healed: [], skipped: 'healed moments ago; waiting before healing again' };
    const drift = await this.ctx.storage.db.selectFrom('drift_fields').selectAll().where('cluster', '=', t.cluster).where('instance', '=', t.instance).execute();
    if (!drift.length) return { healed: [] };
    this.lastHeal.set(tk, now);
    const keys = [...new Set(drift.map((d) => d.object_key))];
    if (t.mode === 'direct') {
      const objects = keys.map((k) => t.objects.get(k)).filter((o): o is KubeObject => !!o);
      await applyObjects(this.clientOf(t), objects.map((o) => structuredClone(o)), { inventory: inventoryFor(t.instance, t.namespace), prune: false });
    } else {
      await requestSync(this.ctx.clients.management(), t.argo!.namespace, applicationName(t.cluster, t.instance), by);
    }
    this.stats.heals++;
    const healed = drift.map(toRecord);
    void this.emit([{
      kind: 'drift', status: 'healed', cluster: t.cluster, instance: t.instance, app: t.app, ...(t.ring ? { ring: t.ring } : {}), release: t.releaseId,
      data: { by, mode: t.mode, fields: healed.slice(0, 50).map(summary) },
    }]);
    return { healed };
  }

  /** Watches the Argo CD Applications Ringmaster generated, when some target is delivered through Argo CD. */
  private async ensureArgoWatch(): Promise<void> {
    const argo = [...this.targets.values()].filter((t) => t.mode === 'argocd');
    if (!argo.length) {
      this.argo?.handle.stop();
      this.argo = undefined;
      return;
    }
    const namespace = argo[0]!.argo!.namespace;
    if (this.argo && this.argo.namespace === namespace) return;
    this.argo?.handle.stop();
    let client: KubeClient;
    try {
      client = this.ctx.clients.management();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'drift: no usable kubeconfig for the Argo CD management cluster');
      return;
    }
    const handle = watchObjects(client, { apiVersion: ARGO_API_VERSION, kind: 'Application', namespace, labelSelector: 'app.kubernetes.io/managed-by=ringmaster' }, {
      onChange: (change) => {
        const labels = change.object.metadata.labels ?? {};
        const t = this.targets.get(targetKey(labels[LABELS.cluster] ?? '', labels[LABELS.instance] ?? ''));
        if (t && t.mode === 'argocd') this.enqueueArgo(t);
      },
      onError: (err) => this.log.warn({ err: (err as Error).message }, 'drift: Application watch error (retrying)'),
    });
    this.argo = { client, handle, namespace };
  }

  private enqueueArgo(t: Target): void {
    this.enqueue(t.cluster, () => this.evaluateArgo(t));
  }

  /**
   * Argo CD mode: Argo CD's verdict decides what is drifted (its resources marked OutOfSync, Missing
   * ones missing); the fields, values and managers come from the live object where the workload
   * cluster is reachable (else the object is reported without fields), and the person from the
   * cluster's audit log. The Application's selfHeal is kept on the instance's policy.
   */
  private async evaluateArgo(t: Target): Promise<void> {
    if (this.stopped || this.targets.get(targetKey(t.cluster, t.instance)) !== t || this.busy.has(t.cluster) || !this.argo) return;
    if (this.argo.handle.state.resourceVersion === '') return;
    const app = this.argo.handle.state.objects.get(`${t.argo!.namespace}/${applicationName(t.cluster, t.instance)}`);
    await this.alignSelfHeal(t, app);
    const outOfSync = argoOutOfSync(app);
    if (!outOfSync) return;
    this.stats.evaluations++;
    let client: KubeClient | undefined;
    try {
      client = this.clientOf(t);
    } catch {
      client = undefined;
    }
    let unnamed = false;
    for (const [key, desired] of t.objects) {
      const verdict = outOfSync.get(key);
      let drift: DriftField[] | 'missing' = [];
      let audit: DriftAudit | undefined;
      if (verdict) {
        let live: KubeObject | undefined | null = null;
        if (client) live = await client.get(refOf(desired)).catch(() => null);
        if (verdict.missing || live === undefined) drift = 'missing';
        else if (live) {
          const fields = objectDrift(desired, live, t.policy.ignore, { deliveryManager: 'argocd-controller' });
          drift = fields === 'missing' ? 'missing' : fields.length ? fields : [{ path: '', desired: undefined, live: undefined, manager: 'argocd', operation: 'OutOfSync' }];
        } else {
          drift = [{ path: '', desired: undefined, live: undefined, manager: 'argocd', operation: 'OutOfSync' }];
        }
        if (client && this.audits.has(t.cluster)) {
          const resource = await client.resourceFor(desired.apiVersion, desired.kind).then((r) => r.resource, () => undefined);
          audit = this.auditOf(t.cluster, resource, await this.argoOwnUsers(t.cluster, client), desired, drift);
          if (!audit) unnamed = true;
        }
      }
      const change = await storeFinding(this.db, { cluster: t.cluster, instance: t.instance, app: t.app, ring: t.ring, releaseId: t.releaseId, ref: refOf(desired), drift, ...(audit ? { audit } : {}) }, this.ctx.now());
      this.emitChange(t, change);
    }
    if (!outOfSync.size) {
      this.retries.delete(`${t.cluster}\0argo:${t.instance}`);
      return;
    }
    // heal at once: with selfHeal on, Argo CD itself may undo the change any moment, and the drift must be on the journey first
    if (t.policy.selfHeal) await this.heal(t, 'policy');
    // the audit line can trail Argo CD's verdict: look again for the person shortly
    if (unnamed) this.lookAgain(t.cluster, `argo:${t.instance}`, () => this.evaluateArgo(t));
  }

  private argoOwnUsers(cluster: string, client: KubeClient): Promise<string[]> {
    let p = this.argoUsers.get(cluster);
    if (!p) this.argoUsers.set(cluster, (p = selfUsers(client)));
    return p;
  }

  /**
   * Keeps the Application's `syncPolicy.automated.selfHeal` on the instance's drift policy: a release
   * that changes only the policy delivers nothing, so no new Application is applied for it.
   */
  private async alignSelfHeal(t: Target, app: KubeObject | undefined): Promise<void> {
    const automated = (app?.spec as { syncPolicy?: { automated?: { selfHeal?: boolean } } } | undefined)?.syncPolicy?.automated;
    if (!app || !automated || (automated.selfHeal ?? false) === t.policy.selfHeal || !this.argo) return;
    try {
      await this.argo.client.mergePatch({ apiVersion: ARGO_API_VERSION, kind: 'Application', namespace: t.argo!.namespace, name: app.metadata.name! },
        { spec: { syncPolicy: { automated: { selfHeal: t.policy.selfHeal } } } }, { fieldManager: 'ringmaster-drift' });
      this.log.info({ cluster: t.cluster, instance: t.instance, selfHeal: t.policy.selfHeal }, 'drift: set the Application\'s selfHeal to the instance\'s drift policy');
    } catch (err) {
      this.log.warn({ cluster: t.cluster, instance: t.instance, err: (err as Error).message }, 'drift: setting the Application\'s selfHeal failed');
    }
  }
}

/** The user names a client acts as (SelfSubjectReview); none when the cluster does not say. */
async function selfUsers(client: KubeClient): Promise<string[]> {
  try {
    const review = await client.create({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} });
    const user = (review.status as { userInfo?: { username?: string } } | undefined)?.userInfo?.username;
    return user ? [user] : [];
  } catch {
    return [];
  }
}

/**
 * Argo CD's verdict on an Application's objects: the refKeys it reports OutOfSync (missing when their
 * health is Missing), or undefined while it has no verdict (no sync status yet, or Unknown). Pure.
 */
export function argoOutOfSync(app: KubeObject | undefined): Map<string, { missing: boolean }> | undefined {
  const status = (app?.status ?? {}) as { sync?: { status?: string }; resources?: Array<{ group?: string; kind?: string; namespace?: string; name?: string; status?: string; health?: { status?: string } }> };
  if (!status.sync?.status || status.sync.status === 'Unknown') return undefined;
  const out = new Map<string, { missing: boolean }>();
  for (const r of status.resources ?? []) {
    if (r.status !== 'OutOfSync') continue;
    out.set(`${r.group ?? ''}/${r.kind ?? ''}/${r.namespace ?? ''}/${r.name ?? ''}`, { missing: r.health?.status === 'Missing' });
  }
  return out;
}

/** Asks Argo CD to sync an Application now (its `operation` field, as `argocd app sync` does). */
export async function requestSync(client: KubeClient, namespace: string, name: string, by: string): Promise<void> {
  await client.mergePatch({ apiVersion: ARGO_API_VERSION, kind: 'Application', namespace, name }, {
    operation: { initiatedBy: { username: `ringmaster (${by})` }, sync: { syncOptions: ['ServerSideApply=true'] } },
  }, { fieldManager: 'ringmaster' });
}

function summary(r: DriftRecord): Record<string, unknown> {
  return {
    object: `${r.object.kind} ${r.object.namespace ? r.object.namespace + '/' : ''}${r.object.name}`, path: r.path, state: r.state,
    desired: clip(r.desired), live: clip(r.live), manager: r.manager, user: r.user,
  };
}

function clip(v: unknown): unknown {
  if (v === undefined) return null;
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : v;
}
