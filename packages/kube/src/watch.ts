import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import { KubeApiError, isStatus } from './errors.ts';
import { namespacedName, type KubeObject } from '@ringmaster/kube-common';

/** One event of a watch stream, as the API server sends it. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject | { kind?: string; code?: number; reason?: string; message?: string };
}

/** The cached view of a watched collection: objects by namespace/name and the point to resume from. */
export interface WatchState {
  objects: ReadonlyMap<string, KubeObject>;
  resourceVersion: string;
}

/** What applying one event did: the next state, whether an object changed, and whether a relist is needed. */
export interface WatchStep {
  state: WatchState;
  change?: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject };
  /** The server forgot our resourceVersion (410 Gone): list again. */
  relist?: boolean;
  /** Any other ERROR event. */
  error?: { code?: number; reason?: string; message?: string };
}

/** An empty state, or one built from a list answer. */
export function initialWatchState(items: KubeObject[] = [], resourceVersion = ''): WatchState {
  return { objects: new Map(items.map((o) => [namespacedName(o), o])), resourceVersion };
}

/**
 * Compares resourceVersions. They are opaque strings by contract, but etcd-backed servers issue
 * increasing integers; when both parse as integers the order is used, otherwise they are "unordered".
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Applies one watch event to the state (pure). Stale or duplicate events — an ADDED/MODIFIED whose
 * resourceVersion is not newer than the cached object's, which happens when a resumed watch replays
 * — change nothing. BOOKMARKs only move the resume point; a 410 ERROR asks for a relist.
 */
export function reduceWatchEvent(state: WatchState, event: WatchEvent): WatchStep {
  if (event.type === 'ERROR') {
    const status = event.object as { code?: number; reason?: string; message?: string };
    if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return { state, relist: true };
    return { state, error: { code: status.code, reason: status.reason, message: status.message } };
  }
  const obj = event.object as KubeObject;
  const rv = obj.metadata?.resourceVersion;
  const nextRv = rv && compareResourceVersions(rv, state.resourceVersion) !== -1 ? rv : state.resourceVersion;
  if (event.type === 'BOOKMARK') return { state: { objects: state.objects, resourceVersion: nextRv } };
  const key = namespacedName(obj);
  const cached = state.objects.get(key);
  const objects = new Map(state.objects);
  if (event.type === 'DELETED') {
    if (!cached) return { state: { objects: state.objects, resourceVersion: nextRv } };
    objects.delete(key);
    return { state: { objects, resourceVersion: nextRv }, change: { type: 'DELETED', object: obj } };
  }
  if (cached && (rv === cached.metadata.resourceVersion || compareResourceVersions(rv, cached.metadata.resourceVersion) === -1)) {
    return { state: { objects: state.objects, resourceVersion: nextRv } };
  }
  objects.set(key, obj);
  return { state: { objects, resourceVersion: nextRv }, change: { type: cached ? 'MODIFIED' : 'ADDED', object: obj } };
}

/**
 * Reconciles the cache with a fresh list (pure): the changes a consumer missed while the watch was
 * down — objects added, modified (by resourceVersion) or deleted in the meantime.
 */
export function reduceRelist(state: WatchState, items: KubeObject[], resourceVersion: string): { state: WatchState; changes: NonNullable<WatchStep['change']>[] } {
  const next = initialWatchState(items, resourceVersion);
  const changes: NonNullable<WatchStep['change']>[] = [];
  for (const [key, obj] of next.objects) {
    const old = state.objects.get(key);
    if (!old) changes.push({ type: 'ADDED', object: obj });
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) changes.push({ type: 'MODIFIED', object: obj });
  }
  for (const [key, obj] of state.objects) if (!next.objects.has(key)) changes.push({ type: 'DELETED', object: obj });
  return { state: next, changes };
}

/** What to watch. */
export interface WatchTarget {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Callbacks and tuning of watchObjects. */
export interface WatchOptions {
  /** Called for every change, in order; also for changes found by a relist after an outage. */
  onChange: (change: NonNullable<WatchStep['change']>, state: WatchState) => void;
  /** Called after each (re)list, with the full cache. */
  onSync?: (state: WatchState) => void;
  /** Called for every error the watch recovers from (it never stops on its own). */
  onError?: (err: unknown) => void;
  /** Longest wait between retries (default 10 s); retries start at 200 ms and double. */
  maxBackoffMs?: number;
  /** Resume from a state kept earlier (e.g. across a process restart) instead of listing first; a 410 relists. */
  resumeFrom?: WatchState;
}

/** A running watch: its current cache and a way to stop it. */
export interface WatchHandle {
  readonly state: WatchState;
  /** Resolves once the cache is complete: after the first list (or, when resuming, once the watch is open). */
  readonly synced: Promise<void>;
  stop(): void;
}

/**
 * Lists then watches a collection for as long as it is not stopped: resumes from the last
 * resourceVersion after any error or server-side close, relists on 410 Gone, asks for bookmarks,
 * and sets no client timeout on the stream (the server's timeoutSeconds ends each watch cleanly).
 */
export function watchObjects(client: KubeClient, target: WatchTarget, opts: WatchOptions): WatchHandle {
  const abort = new AbortController();
  let state = opts.resumeFrom ?? initialWatchState();
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  let backoff = 200;

  const relist = async (): Promise<void> => {
    const list = await client.list(target.apiVersion, target.kind, target);
    const step = reduceRelist(state, list.items, list.resourceVersion);
    state = step.state;
    // the first list reports every object as ADDED, later ones only what was missed meanwhile
    for (const c of step.changes) opts.onChange(c, state);
    opts.onSync?.(state);
    resolveSynced();
  };

  const watchOnce = async (): Promise<'relist' | 'resume'> => {
    const path = await client.collectionPath(target.apiVersion, target.kind, target.namespace);
    const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
    const res = await client.stream(path, {
      watch: 1,
      resourceVersion: state.resourceVersion,
      allowWatchBookmarks: true,
      labelSelector: target.labelSelector,
      fieldSelector: target.fieldSelector,
      // a server-side end, spread so many watchers do not reconnect at the same moment
      timeoutSeconds,
    }, abort.signal);
    // silence well past the server's own timeout (bookmarks arrive about every minute) means a dead stream
    res.setTimeout((timeoutSeconds + 60) * 1000, () => res.destroy(new Error(`watch received nothing for ${timeoutSeconds + 60} s`)));
    backoff = 200;
    resolveSynced();
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        const step = reduceWatchEvent(state, JSON.parse(line) as WatchEvent);
        state = step.state;
        if (step.relist) return 'relist';
        if (step.error) opts.onError?.(new KubeApiError(step.error.code ?? 500, step.error.reason, `watch error: ${step.error.message ?? ''}`));
        if (step.change) opts.onChange(step.change, state);
      }
    } finally {
      lines.close();
      res.destroy();
    }
    return 'resume';
  };

  const loop = async (): Promise<void> => {
    let needList = !opts.resumeFrom;
    while (!abort.signal.aborted) {
      try {
        if (needList) {
          await relist();
          needList = false;
        }
        needList = (await watchOnce()) === 'relist';
      } catch (err) {
        if (abort.signal.aborted) return;
        if (isStatus(err, 410)) {
          needList = true;
          continue;
        }
        opts.onError?.(err);
        await sleep(backoff, undefined, { signal: abort.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  };
  void loop();

  return {
    get state() {
      return state;
    },
    synced,
    stop: () => abort.abort(),
  };
}

/**
 * client-node informers stop for good on any error other than 410; this restarts one with
 * exponential backoff (200 ms doubling to `maxBackoffMs`, reset by the next event) until the
 * returned stop function is called, which also stops the informer.
 */
export function keepInformerRunning<T extends KubernetesObject>(informer: Informer<T>, opts: { maxBackoffMs?: number; onError?: (err: unknown) => void } = {}): () => Promise<void> {
  const max = opts.maxBackoffMs ?? 10_000;
  let backoff = 200;
  let timer: NodeJS.Timeout | undefined;
  let active = true;
  const onError = (err?: unknown): void => {
    if (!active || timer) return;
    opts.onError?.(err);
    timer = setTimeout(() => {
      timer = undefined;
      if (active) informer.start().catch(onError);
    }, backoff);
    backoff = Math.min(backoff * 2, max);
  };
  const reset = (): void => {
    backoff = 200;
  };
  informer.on('error', onError);
  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, reset);
  return async () => {
    active = false;
    if (timer) clearTimeout(timer);
    informer.off('error', onError);
    await informer.stop();
  };
}
