import type { ChangesTable } from '../storage/schema.ts';
import type { Storage } from '../storage/storage.ts';
import type { TransactionRunner } from '../storage/write-queue.ts';
import type { JourneyEvent } from '../ingest/event-schema.ts';
import { imageKeys, type ImageIntroduction, type ImageIntroductionFinder } from './introduction.ts';
import { parseTrailers } from './trailers.ts';
import { recordReportedRegion, reportedRegion } from './clusters.ts';
import { ringEvent, stepEvent, type TargetEvent } from './targets.ts';
import { TargetStore, type TargetPatch } from './target-store.ts';
import type { AppDirectory } from './app-directory.ts';
import type { JourneySettings } from './settings.ts';
import { ChangeStore, type EventsRow, type Trx } from './change-store.ts';

/** How far a change has travelled, in order; a change only moves forward. */
export const STAGES = ['commit', 'build', 'image', 'config', 'release', 'deploy', 'healthy'] as const;
export type Stage = (typeof STAGES)[number];

export interface RecordOptions {
  /**
   * A webhook delivery: when (source, id) was seen before, or a delivery of the same body (its
   * fingerprint, e.g. a replay under a new id), nothing is stored.
   */
  delivery?: { source: string; id: string; fingerprint?: string };
  settings: JourneySettings;
  finder?: ImageIntroductionFinder;
  /** Called when finding image introductions fails; the event is stored regardless. */
  onFinderError?: (err: unknown) => void;
  now?: number;
  /** Runs the write transaction; default: a transaction of its own. The server passes its group-commit queue. */
  transaction?: TransactionRunner;
  /** Cache of repository → app and app → team shared across requests. */
  directory?: AppDirectory;
}

export interface RecordResult {
  /** True when the delivery was seen before and nothing was stored. */
  duplicateDelivery: boolean;
  stored: number;
  duplicates: number;
  events: Array<{ id: number; changes: string[] } | { duplicate: true }>;
}

/** Release outcomes that leave the clusters not yet reached as they are. */
const RELEASE_ENDED_SHORT = new Set(['failed', 'rolled_back', 'aborted', 'halted']);

/**
 * Records a delivery under its id and, in the same table, its body's fingerprint (source `<source>#body`);
 * false when either was seen before. Both rows are kept either way, so a replay's new id is known too.
 */
async function claimDelivery(store: ChangeStore, delivery: NonNullable<RecordOptions['delivery']>, now: number, events: number): Promise<boolean> {
  const rows = [{ source: delivery.source, delivery_id: delivery.id, received_at: now, events }];
  if (delivery.fingerprint) rows.push({ source: `${delivery.source}#body`, delivery_id: delivery.fingerprint, received_at: now, events });
  return store.claimDeliveries(rows);
}

/**
 * Stores journey events and joins each to the changes it belongs to, all in one transaction:
 * a batch is stored entirely or not at all.
 */
export async function recordEvents(storage: Storage, events: JourneyEvent[], options: RecordOptions): Promise<RecordResult> {
  const now = options.now ?? Date.now();
  const settings = options.settings;
  // Planning renders the fleet and may take a while; do it before the transaction so it holds no lock meanwhile.
  const introductions = new Map<string, ImageIntroduction[]>();
  if (options.finder && settings.fleetRepository) {
    for (const ev of events) {
      if (ev.kind === 'commit' && ev.repository === settings.fleetRepository && ev.commit && ev.previousCommit) {
        try {
          introductions.set(ev.commit, await options.finder.find({ from: ev.previousCommit, to: ev.commit }));
        } catch (err) {
          options.onFinderError?.(err);
        }
      }
    }
  }
  const transaction: TransactionRunner = options.transaction ?? ((fn) => storage.db.transaction().execute(fn));
  return transaction(async (trx) => {
    const store = new ChangeStore(trx, now);
    if (options.delivery && !(await claimDelivery(store, options.delivery, now, events.length))) {
      return { duplicateDelivery: true, stored: 0, duplicates: events.length, events: events.map(() => ({ duplicate: true as const })) };
    }
    const result: RecordResult = { duplicateDelivery: false, stored: 0, duplicates: 0, events: [] };
    const j = new JourneyWriter(trx, store, settings, introductions, now, options.directory);
    const links: Array<{ event_id: number; change_id: string }> = [];
    const ids = await store.insertEvents(events.map((ev) => j.eventRow(ev)));
    await j.createChanges(events.filter((_, i) => ids[i] !== undefined));
    for (const [i, ev] of events.entries()) {
      const id = ids[i];
      if (id === undefined) {
        result.duplicates++;
        result.events.push({ duplicate: true });
        continue;
      }
      const changes = [...new Set(await j.correlate(ev))];
      for (const change_id of changes) links.push({ event_id: id, change_id });
      result.stored++;
      result.events.push({ id, changes });
    }
    // links are written together: one statement per 500 instead of one per event
    await store.linkEvents(links);
    return result;
  });
}

class JourneyWriter {
  constructor(
    private readonly trx: Trx,
    private readonly store: ChangeStore,
    private readonly settings: JourneySettings,
    private readonly introductions: Map<string, ImageIntroduction[]>,
    private readonly now: number,
    private readonly directory?: AppDirectory,
  ) {}

  private at(ev: JourneyEvent): number {
    return ev.occurredAt ? Date.parse(ev.occurredAt) : this.now;
  }

  eventRow(ev: JourneyEvent): EventsRow {
    return {
      kind: ev.kind, source: ev.source, delivery_id: ev.deliveryId ?? null, idempotency_key: ev.idempotencyKey ?? null,
      app: ev.app ?? null, team: ev.team ?? null, repository: ev.repository ?? null, commit_sha: ev.commit ?? null,
      previous_commit: ev.previousCommit ?? null, branch: ev.branch ?? null, author: ev.author ?? null,
      author_email: ev.authorEmail ?? null, message: ev.message ?? null, build_id: ev.buildId ?? null,
      build_url: ev.buildUrl ?? null, image: ev.image ?? null, image_digest: ev.imageDigest ?? null,
      release_id: ev.release ?? null, ring: ev.ring ?? null, cluster: ev.cluster ?? null, instance: ev.instance ?? null,
      status: ev.status ?? null, url: ev.url ?? null, occurred_at: this.at(ev), received_at: this.now,
      data: ev.data ? JSON.stringify(ev.data) : null,
    };
  }

  async correlate(ev: JourneyEvent): Promise<string[]> {
    if (ev.app && ev.team) await this.rememberTeam(ev.app, ev.team);
    switch (ev.kind) {
      case 'commit': {
        if (this.isManifestCommit(ev)) return this.manifestCommit(ev);
        if (this.isFleetCommit(ev)) return this.fleetCommit(ev);
        return [await this.sourceCommit(ev)];
      }
      case 'pr.merged':
        return [await this.sourceCommit(ev)];
      case 'build.started':
      case 'build.finished': {
        const ids = ev.commit ? [await this.ensureChange(ev, ev.commit)] : await this.findChanges([['build', ev.buildId!]]);
        for (const id of ids) {
          await this.addKeys(id, [['build', ev.buildId!]]);
          const failed = ev.kind === 'build.finished' && ev.status === 'failed' && !(await this.succeededLater(id, this.at(ev)));
          await this.updateChange(id, { build_id: ev.buildId ?? null, ...(ev.buildUrl ? { build_url: ev.buildUrl } : {}) }, 'build', failed ? this.at(ev) : undefined);
          if (ev.kind === 'build.finished' && ev.status === 'succeeded') await this.clearBuildFailure(id, this.at(ev));
        }
        return ids;
      }
      case 'image.pushed': {
        const keys = imageKeys(ev.image, ev.imageDigest);
        const ids = ev.commit
          ? [await this.ensureChange(ev, ev.commit)]
          : await this.findChanges([...(ev.buildId ? [['build', ev.buildId] as [string, string]] : []), ...keys]);
        for (const id of ids) {
          await this.addKeys(id, keys);
          await this.updateChange(id, { image: ev.image ?? null, ...(ev.imageDigest ? { image_digest: ev.imageDigest } : {}) }, 'image');
        }
        return ids;
      }
      case 'release': {
        const keys: Array<[string, string]> = [['release', ev.release!], ...imageKeys(ev.image, ev.imageDigest)];
        if (ev.commit) keys.push(['fleet', ev.commit]);
        const ids = await this.findChanges(keys);
        for (const id of ids) {
          await this.addKeys(id, [['release', ev.release!]]);
          await this.updateChange(id, { release_id: ev.release! }, 'release');
          if (RELEASE_ENDED_SHORT.has(ev.status ?? '')) await this.leaveNotReached(id);
        }
        return ids;
      }
      case 'promotion.step': {
        const ids = await this.findChanges([['release', ev.release!]]);
        for (const id of ids) {
          if (ev.cluster) {
            const event = stepEvent(ev.status);
            if (event) await this.upsertTargets(id, ev.cluster, ev.instance, { ring: ev.ring ?? null, release_id: ev.release! }, event);
          } else if (ev.ring) {
            await this.ringGate(id, ev.ring, ev.status);
          }
          const failed = ev.status === 'failed' || ev.status === 'rolled_back';
          await this.updateChange(id, { release_id: ev.release! }, 'release', failed ? this.at(ev) : undefined);
        }
        return ids;
      }
      case 'sync':
      case 'health':
        return this.clusterState(ev);
      case 'drift':
      case 'operation':
        // a drift (or an operation on the instance's nodes) belongs to the changes of the release that delivered what drifted
        return ev.release ? this.findChanges([['release', ev.release]]) : [];
      case 'request':
        // a request belongs to the change its fleet commit made (and the release that delivered it)
        return this.findChanges([...(ev.commit ? [['commit', ev.commit] as [string, string]] : []), ...(ev.release ? [['release', ev.release] as [string, string]] : [])]);
    }
  }

  private async succeededLater(id: string, at: number): Promise<boolean> {
    return this.store.succeededLater(id, at);
  }

  /**
   * A later successful build (a retried pipeline) undoes an earlier build failure. Only a build can fail a
   * change that has not reached its release stage; a failed release or deployment stays failed.
   */
  private async clearBuildFailure(id: string, at: number) {
    await this.store.clearFailure(id, at, STAGES.slice(0, STAGES.indexOf('release')));
  }

  private isManifestCommit(ev: JourneyEvent): boolean {
    return (!!this.settings.manifestRepository && ev.repository === this.settings.manifestRepository) || parseTrailers(ev.message).release !== undefined;
  }

  private isFleetCommit(ev: JourneyEvent): boolean {
    return !!this.settings.fleetRepository && ev.repository === this.settings.fleetRepository;
  }

  /**
   * Creates the changes of a batch's source commits with multi-row inserts before the events are joined
   * one by one; joining such a commit then costs no statement (a pipeline posting many commits at once).
   */
  async createChanges(events: JourneyEvent[]): Promise<void> {
    const rows = new Map<string, ChangesTable>();
    for (const ev of events) {
      const source = ev.kind === 'pr.merged' || (ev.kind === 'commit' && !this.isManifestCommit(ev) && !this.isFleetCommit(ev));
      if (source && !rows.has(ev.commit!)) rows.set(ev.commit!, await this.changeRow(ev, ev.commit!));
    }
    for (const id of await this.store.insertChanges([...rows.values()])) this.created.add(id);
  }

  private async sourceCommit(ev: JourneyEvent): Promise<string> {
    const id = await this.ensureChange(ev, ev.commit!);
    if (this.created.has(id)) return id; // just inserted with every field of this event
    const patch: Partial<ChangesTable> = {};
    if (ev.kind === 'commit' && ev.occurredAt) patch.committed_at = this.at(ev);
    if (ev.branch) patch.branch = ev.branch;
    if (ev.author) patch.author = ev.author;
    if (ev.authorEmail) patch.author_email = ev.authorEmail;
    if (ev.message) patch.title = ev.message.split('\n')[0]!.slice(0, 1000);
    if (ev.repository) patch.repository = ev.repository;
    await this.updateChange(id, patch, 'commit');
    return id;
  }

  /** A fleet-repo commit: each image it introduces (per the rendered plan) links it to the change that built the image. */
  private async fleetCommit(ev: JourneyEvent): Promise<string[]> {
    const intro = this.introductions.get(ev.commit!) ?? [];
    const found = new Set<string>();
    for (const inst of intro) {
      for (const image of inst.imagesAdded) {
        for (const id of await this.findChanges(imageKeys(image))) {
          found.add(id);
          await this.addKeys(id, [['fleet', ev.commit!]]);
          await this.updateChange(id, { fleet_revision: ev.commit! }, 'config');
          await this.upsertTargets(id, inst.cluster, inst.instance, { ring: inst.ring, app: inst.app, image }, 'planned');
        }
      }
    }
    return [...found];
  }

  /** A manifest-repo commit: the trailers name the release, the source revision, the ring and the cluster. */
  private async manifestCommit(ev: JourneyEvent): Promise<string[]> {
    const t = parseTrailers(ev.message);
    const release = t.release ?? ev.release;
    const cluster = t.cluster ?? ev.cluster;
    const ring = t.ring ?? ev.ring ?? null;
    const keys: Array<[string, string]> = [];
    if (release) keys.push(['release', release]);
    if (t.sourceRevision) keys.push(['commit', t.sourceRevision], ['fleet', t.sourceRevision]);
    const ids = await this.findChanges(keys);
    // A rollback commit restores what ran before: it belongs on the change's timeline, but the
    // change did not arrive anywhere, so neither it nor the sync/health that follow advance it.
    if (t.step === 'rollback') return ids;
    for (const id of ids) {
      await this.addKeys(id, [['manifest', ev.commit!], ...(release ? [['release', release] as [string, string]] : [])]);
      await this.updateChange(id, release ? { release_id: release } : {}, 'release');
      if (cluster) {
        await this.upsertTargets(id, cluster, ev.instance, { ring, manifest_commit: ev.commit!, release_id: release ?? null }, 'manifest.committed');
      }
    }
    return ids;
  }

  /** Argo CD (or direct mode) reports sync and health per cluster/instance. */
  private async clusterState(ev: JourneyEvent): Promise<string[]> {
    const cluster = ev.cluster!;
    const instance = ev.instance ?? ev.app ?? '';
    const at = this.at(ev);
    await this.rememberRegion(cluster, reportedRegion(ev.data));
    const keys: Array<[string, string]> = [];
    if (ev.commit) keys.push(['manifest', ev.commit]);
    if (ev.release) keys.push(['release', ev.release]);
    let ids = keys.length > 0 ? await this.findChanges(keys) : [];
    const current = await this.store.fleetState(cluster, instance);
    if (ids.length === 0 && current?.change_id && !ev.commit) ids = [current.change_id];

    let ring = ev.ring ?? null;
    for (const id of ids) {
      ring = ring ?? (await this.store.targetRing(id, cluster)) ?? null;
    }
    ring = ring ?? current?.ring ?? null;
    const latest = await this.store.latestChange(ids);

    if (ev.kind === 'sync') {
      for (const id of ids) {
        if (ev.status === 'Synced') {
          await this.upsertTargets(id, cluster, ev.instance, { ring, synced_at: at }, 'synced');
          await this.updateChange(id, {}, 'deploy');
        } else if (ev.status === 'OutOfSync') {
          await this.upsertTargets(id, cluster, ev.instance, { ring }, 'out_of_sync');
        }
      }
    } else {
      for (const id of ids) {
        if (ev.status === 'Healthy') {
          await this.upsertTargets(id, cluster, ev.instance, { ring, healthy_at: at }, 'healthy');
          await this.updateChange(id, {}, 'healthy');
          if (ring) await this.reachRing(id, ring, at);
        } else if (ev.status === 'Degraded') {
          await this.upsertTargets(id, cluster, ev.instance, { ring }, 'degraded');
          await this.updateChange(id, {}, 'deploy', at);
        }
      }
      await this.trackIncident(ev, cluster, instance, ring, latest?.id ?? current?.change_id ?? null, at);
    }

    const app = ev.app ?? latest?.app ?? current?.app ?? null;
    // what the instance's own render runs (a region may pull from its own registry), else what CI built
    const rendered = latest ? await this.store.targetImage(latest.id, cluster, instance) : null;
    const patch = {
      app, ring,
      release_id: latest?.release_id ?? ev.release ?? current?.release_id ?? null,
      image: rendered ?? latest?.image ?? current?.image ?? null,
      revision: ev.commit ?? current?.revision ?? null,
      change_id: latest?.id ?? current?.change_id ?? null,
      sync: ev.kind === 'sync' ? ev.status! : current?.sync ?? null,
      health: ev.kind === 'health' ? ev.status! : current?.health ?? null,
      updated_at: at,
    };
    await this.store.setFleetState(cluster, instance, patch);
    return ids;
  }

  /** Degraded opens an incident on the instance; the next Healthy closes it (time to restore). */
  private async trackIncident(ev: JourneyEvent, cluster: string, instance: string, ring: string | null, changeId: string | null, at: number) {
    const open = await this.store.openIncident(cluster, instance);
    if (ev.status === 'Degraded' && !open) {
      const app = ev.app ?? (changeId ? (await this.store.change(changeId))?.app : null) ?? null;
      const team = app ? await this.teamOf(app) : null;
      await this.store.openIncidentFor({ app, team, ring, cluster, instance, change_id: changeId, started_at: at });
    } else if (ev.status === 'Healthy' && open) {
      await this.store.restoreIncident(open.id, at);
    }
  }

  private async reachRing(id: string, ring: string, at: number) {
    const change = await this.store.change(id);
    if (!change) throw new Error(`change ${id} not found`);
    await this.store.reachRing({
      change_id: id, app: change.app, team: change.team, ring, reached_at: at, lead_ms: Math.max(0, at - change.committed_at),
      failed: change.failed_at === null ? 0 : 1,
    });
    const rings = this.settings.rings;
    if (rings.length === 0 || ring !== rings[rings.length - 1]) return;
    // the last ring is done only when every cluster targeted there runs the change healthy, not the first one
    if (await this.store.ringOpen(id, ring)) return;
    await this.store.succeed(id);
  }

  /**
   * A ring-level promotion step: while a ring waits for its approval, its targets read "waiting"
   * (not "planned"); once approved or started they are planned again; a halted ring leaves every
   * target not yet reached, in it and after it, "not reached".
   */
  private async ringGate(id: string, ring: string, status: string | undefined) {
    const event = ringEvent(status);
    if (event === 'release.stopped') await this.leaveNotReached(id);
    else if (event) await this.moveTargets(id, ring, event);
  }

  /** The release stopped short: what it had not reached reads "not reached", not "planned" or "in progress". */
  private async leaveNotReached(id: string) {
    await this.moveTargets(id, undefined, 'release.stopped');
  }

  private async moveTargets(id: string, ring: string | undefined, event: TargetEvent) {
    await this.targets.move(id, ring, event);
  }

  /** The change targets' SQL, in this transaction. */
  private get targets(): TargetStore {
    return new TargetStore(this.trx, this.now);
  }

  private async upsertTargets(changeId: string, cluster: string, instance: string | undefined, patch: TargetPatch, event: TargetEvent) {
    await this.targets.upsert(changeId, cluster, instance, patch, event);
  }

  private async changeRow(ev: JourneyEvent, sha: string): Promise<ChangesTable> {
    const app = ev.app ?? (ev.repository ? await this.appOfRepository(ev.repository) : null) ?? null;
    const team = ev.team ?? (app ? await this.teamOf(app) : null);
    return {
      id: sha, app, team, repository: ev.repository ?? null, commit_sha: sha, branch: ev.branch ?? null,
      author: ev.author ?? null, author_email: ev.authorEmail ?? null, title: ev.message ? ev.message.split('\n')[0]!.slice(0, 1000) : null,
      committed_at: this.at(ev), updated_at: this.now, stage: 'commit', status: 'in_progress', build_id: null, build_url: null,
      image: null, image_digest: null, fleet_revision: null, release_id: null, failed_at: null,
    };
  }

  private async ensureChange(ev: JourneyEvent, sha: string): Promise<string> {
    if (this.created.has(sha)) return sha;
    const row = await this.changeRow(ev, sha);
    const inserted = await this.store.insertChanges([row]);
    // a change's id is its commit SHA, so finding it by commit needs no key row
    if (inserted.length) this.created.add(sha);
    return sha;
  }

  private async updateChange(id: string, patch: Partial<ChangesTable>, stage: Stage, failedAt?: number) {
    const row = await this.store.change(id);
    if (!row) return;
    const set: Partial<ChangesTable> = { ...patch, updated_at: this.now };
    if (STAGES.indexOf(stage) > STAGES.indexOf(row.stage as Stage)) set.stage = stage;
    if (failedAt !== undefined && row.status !== 'failed') {
      set.status = 'failed';
      set.failed_at = failedAt;
      await this.store.failRings(id);
    }
    await this.store.setChange(id, set);
  }

  private async findChanges(keys: Array<[string, string]>): Promise<string[]> {
    return this.store.findChanges(keys);
  }

  private async addKeys(changeId: string, keys: Array<[string, string]>) {
    await this.store.addKeys(changeId, keys);
  }

  // Memoised for the length of one transaction: a batch names the same few apps again and again.
  private readonly apps = new Map<string, string | null>();
  private readonly teams = new Map<string, string | null>();
  /** Changes this transaction created. */
  private readonly created = new Set<string>();
  /** Apps whose team this transaction may have written. */
  private readonly taught = new Set<string>();

  private async appOfRepository(repository: string): Promise<string | null> {
    if (this.apps.has(repository)) return this.apps.get(repository)!;
    const shared = this.directory?.get('app', repository);
    if (shared) return shared.value;
    const app = await this.store.appOfRepository(repository);
    this.apps.set(repository, app);
    this.directory?.set('app', repository, app);
    return app;
  }

  private async teamOf(app: string): Promise<string | null> {
    if (this.teams.has(app)) return this.teams.get(app)!;
    const shared = this.directory?.get('team', app);
    if (shared) return shared.value;
    const team = await this.store.teamOf(app);
    this.teams.set(app, team);
    // only committed state is shared; what this transaction wrote itself (rememberTeam) stays local
    if (!this.taught.has(app)) this.directory?.set('team', app, team);
    return team;
  }

  /** Regions this transaction recorded already (cluster → region). */
  private readonly regions = new Map<string, string>();

  /** The region a sync/health event reports for its cluster, kept for clusters the fleet model does not declare. */
  private async rememberRegion(cluster: string, region: string | undefined) {
    if (!region || this.regions.get(cluster) === region) return;
    this.regions.set(cluster, region);
    await recordReportedRegion(this.trx, cluster, region, this.now);
  }

  /** An event naming both app and team teaches the mapping, unless one was set already. */
  private async rememberTeam(app: string, team: string) {
    if (this.teams.has(app) || this.directory?.get('team', app)?.value) return;
    this.taught.add(app);
    await this.store.teachTeam(app, team);
    this.teams.delete(app);
    await this.teamOf(app);
  }
}
