import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Storage } from '../storage/storage.ts';
import type { JourneyEvent } from '../ingest/event-schema.ts';
import type { RecordResult } from '../journey/record.ts';
import { requireRole } from '../auth/roles.ts';
import type { LiveUpdate } from '@ringmaster/api';
export type { LiveUpdate };

/** An in-process feed of recorded journey events, one per open storage (one per server). */
export class LiveFeed {
  private readonly emitter = new EventEmitter();

  constructor() {
    // every open dashboard tab is one listener
    this.emitter.setMaxListeners(0);
  }

  /** Called on the recording path after a batch is committed. */
  recorded(events: JourneyEvent[], result: RecordResult): void {
    if (result.stored === 0) return;
    const kinds = new Set<string>();
    const changes = new Set<string>();
    const clusters = new Set<string>();
    const releases = new Set<string>();
    events.forEach((ev, i) => {
      const r = result.events[i];
      if (!r || 'duplicate' in r) return;
      kinds.add(ev.kind);
      for (const c of r.changes) changes.add(c);
      if (ev.cluster) clusters.add(ev.cluster);
      if (ev.release) releases.add(ev.release);
      const region = ev.data?.region;
      if (ev.cluster && typeof region === 'string') this.emitter.emit('region', ev.cluster, region);
    });
    this.publish({ kinds: [...kinds], changes: [...changes], clusters: [...clusters], releases: [...releases] });
  }

  /** For state changes that are not journey events (e.g. a release paused): tell the dashboards. */
  publish(update: Omit<LiveUpdate, 'at'>): void {
    this.emitter.emit('update', { ...update, at: new Date().toISOString() } satisfies LiveUpdate);
  }

  subscribe(listener: (update: LiveUpdate) => void): () => void {
    this.emitter.on('update', listener);
    return () => this.emitter.off('update', listener);
  }

  /** Clusters' regions as events name them in data.region. */
  onRegion(listener: (cluster: string, region: string) => void): () => void {
    this.emitter.on('region', listener);
    return () => this.emitter.off('region', listener);
  }
}

const feeds = new WeakMap<Storage, LiveFeed>();

/** The live feed of a storage; the recording path and the stream endpoint meet here. */
export function liveFeed(storage: Storage): LiveFeed {
  let feed = feeds.get(storage);
  if (!feed) feeds.set(storage, (feed = new LiveFeed()));
  return feed;
}

const COALESCE_MS = 250;
const HEARTBEAT_MS = 15_000;

/**
 * GET /stream: server-sent events. Updates are merged over a short window so a batch of thousands
 * of events becomes one message. Browsers read it with fetch (not EventSource) so the bearer token
 * travels in a header, never in a URL that ends up in logs.
 */
export async function registerLiveRoutes(api: FastifyInstance, options: { storage: Storage }): Promise<void> {
  const feed = liveFeed(options.storage);
  // Open streams never end by themselves: end them when the server closes, or close would wait forever.
  const open = new Set<() => void>();
  api.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  api.get('/stream', async (req, reply) => {
    requireRole(req.principal!, 'viewer');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let seq = 0;
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
    let pending: Omit<LiveUpdate, 'at'> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      if (!pending) return;
      const update: LiveUpdate = { ...pending, at: new Date().toISOString() };
      pending = undefined;
      res.write(`id: ${++seq}\nevent: update\ndata: ${JSON.stringify(update)}\n\n`);
    };
    const merge = (a: string[], b: string[]) => [...new Set([...a, ...b])].slice(0, 500);
    const unsubscribe = feed.subscribe((u) => {
      pending = pending
        ? { kinds: merge(pending.kinds, u.kinds), changes: merge(pending.changes, u.changes), clusters: merge(pending.clusters, u.clusters), releases: merge(pending.releases, u.releases) }
        : { kinds: u.kinds, changes: u.changes.slice(0, 500), clusters: u.clusters.slice(0, 500), releases: u.releases.slice(0, 500) };
      timer ??= setTimeout(flush, COALESCE_MS);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = () => {
      open.delete(end);
      unsubscribe();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
    };
    const end = () => {
      close();
      res.end();
    };
    open.add(end);
    req.raw.on('close', close);
    res.on('error', close);
  });
}
