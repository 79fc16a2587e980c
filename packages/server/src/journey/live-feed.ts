import { EventEmitter } from 'node:events';
import type { Storage } from '../storage/storage.ts';
import type { JourneyEvent } from '../ingest/event-schema.ts';
import type { RecordResult } from './record.ts';
import type { LiveUpdate } from '@ringmaster/api';
/** What a dashboard needs to know to refresh: the contract's LiveUpdate (@ringmaster/api). */
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
