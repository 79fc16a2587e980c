import { Gauge, type Registry } from 'prom-client';
import { openStorage, type Storage, type StorageOptions } from './storage/storage.ts';
import { WriteQueue } from './storage/write-queue.ts';
import { TokenAuthenticator } from './auth/tokens.ts';
import type { JourneyEvent } from './ingest/event-schema.ts';
import { recordEvents, type RecordOptions, type RecordResult } from './journey/record.ts';
import { loadSettings, saveSettings, type JourneySettings } from './journey/settings.ts';
import type { ImageIntroductionFinder } from './journey/introduction.ts';
import { AppDirectory } from './journey/app-directory.ts';
import { liveFeed, type LiveFeed } from './journey/live-feed.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import type { FlightingOptions, Logger } from './flighting/context.ts';
import { registerFlightingMetrics, startFlighting, type Flighting } from './flighting/routes.ts';
import { DriftDetector, type DriftOptions } from './drift/detector.ts';
import { driftCounts } from './drift/store.ts';
import type { RequestOptions } from './requests/context.ts';
import { startRequests, type Requests } from './requests/service.ts';
import { Notifier, type NotifierOptions } from './notify/notifier.ts';

export interface ControlPlaneOptions extends StorageOptions {
  /** An already open storage (the control plane then does not close it). */
  storage?: Storage;
  /** Finds the fleet-repo change that introduces an image (from the rendered plan). */
  finder?: ImageIntroductionFinder;
  /** Journey settings applied (and saved) at start; unset fields keep their stored value. */
  settings?: Partial<JourneySettings>;
  /** Releases and delivery (docs/flighting.md); without it the release API answers 404. */
  flighting?: FlightingOptions;
  /** Drift detection of what flighting delivered (on by default with flighting): audit logs, refresh period. */
  drift?: DriftOptions;
  /** Notifications out (docs/flighting.md#notifications). Run with flighting. */
  notifications?: NotifierOptions;
  /** The requests API (docs/requests.md). Runs with flighting. */
  requests?: RequestOptions;
}

/** Journey settings as every replica shares them: read again now and then, since another replica (PostgreSQL) may change them. */
export interface SettingsStore {
  current(): Promise<JourneySettings>;
  /** Saves a change over the stored settings and answers the result. */
  update(patch: Partial<JourneySettings>): Promise<JourneySettings>;
}

/** Everything the control plane runs, built and stopped in one place; the HTTP layer mounts routes onto it. */
export interface ControlPlane {
  storage: Storage;
  /** The one writer of journey events and audit records (group commit on SQLite). */
  writes: WriteQueue;
  auth: TokenAuthenticator;
  directory: AppDirectory;
  metrics: Metrics;
  live: LiveFeed;
  settings: SettingsStore;
  /** Records journey events with correlation, metrics and the live feed. */
  record(events: JourneyEvent[], delivery?: RecordOptions['delivery']): Promise<RecordResult>;
  /** Releases and their engine; undefined without flighting options. */
  flighting?: Flighting;
  /** Drift detection, which follows the engine; undefined without flighting or when turned off. */
  drift?: DriftDetector;
  /** The requests runner; undefined without flighting. */
  requests?: Requests;
  /** Notifications out of the engine's release events; undefined without flighting. */
  notifier?: Notifier;
  /** Stops the runner, the detector and the engine (in that order), then the storage it opened. */
  close(): Promise<void>;
}

const SETTINGS_TTL_MS = 5000;

async function openSettings(storage: Storage, initial: Partial<JourneySettings> | undefined): Promise<SettingsStore> {
  let settings = await loadSettings(storage.db);
  if (initial) {
    settings = { ...settings, ...Object.fromEntries(Object.entries(initial).filter(([, v]) => v !== undefined)) };
    await saveSettings(storage.db, settings);
  }
  let settingsAt = Date.now();
  return {
    async current() {
      if (Date.now() - settingsAt > SETTINGS_TTL_MS) {
        settings = await loadSettings(storage.db);
        settingsAt = Date.now();
      }
      return settings;
    },
    async update(patch) {
      settings = { ...(await loadSettings(storage.db)), ...patch };
      await saveSettings(storage.db, settings);
      settingsAt = Date.now();
      return settings;
    },
  };
}

/** The detector follows the engine: it acts while the engine does (on PostgreSQL, its lease holder) and looks as soon as it delivered. */
function startDrift(flighting: Flighting | undefined, options: DriftOptions | undefined, log: Logger, registry: Registry, storage: Storage): DriftDetector | undefined {
  new Gauge({ name: 'ringmaster_drift_objects', help: 'Delivered objects that drifted from the desired state (missing ones included), by app and cluster', labelNames: ['app', 'cluster'], registers: [registry], async collect() {
    const rows = await driftCounts(storage.db);
    this.reset();
    for (const r of rows) this.set({ app: r.app, cluster: r.cluster }, r.objects);
  } });
  if (!flighting || options?.enabled === false || flighting.ctx.options.engine === false) return undefined;
  const detector = new DriftDetector(flighting.ctx, options ?? {}, log, flighting.engine);
  flighting.engine.onDelivery(() => detector.wake());
  detector.start();
  return detector;
}

/** Opens (or takes) the storage and starts what runs on it: the write queue, the engine, drift detection and the requests runner. */
/** Notifications follow the engine: its release events go out (with flighting, unless the engine is off). */
function startNotifier(flighting: Flighting | undefined, storage: Storage, options: NotifierOptions | undefined, log: Logger): Notifier | undefined {
  if (!flighting) return undefined;
  const notifier = new Notifier(storage, flighting.ctx.options.fleetRepo, log, options);
  flighting.engine.onEvents((events) => notifier.notify(events));
  if (flighting.ctx.options.engine !== false) notifier.start();
  return notifier;
}

export async function createControlPlane(options: ControlPlaneOptions & { log: Logger }): Promise<ControlPlane> {
  // a control plane that opens its own SQLite database runs the engine on it: one such process per data folder
  const storage = options.storage ?? (await openStorage({ ...options, exclusive: options.exclusive ?? true }));
  const ownsStorage = !options.storage;
  const { log } = options;
  const metrics = createMetrics();
  const writes = new WriteQueue(storage);
  const directory = new AppDirectory();
  const live = liveFeed(storage);
  const settings = await openSettings(storage, options.settings);
  const initial = await settings.current();

  const record = async (events: JourneyEvent[], delivery?: RecordOptions['delivery']) => {
    const result = await recordEvents(storage, events, {
      settings: await settings.current(), finder: options.finder, delivery, transaction: writes.run, directory,
      onFinderError: (err) => log.warn({ err: (err as Error).message }, 'finding image introductions in the fleet repo failed'),
    });
    events.forEach((ev, i) => {
      if (!('duplicate' in result.events[i]!)) metrics.events.inc({ kind: ev.kind, source: ev.source });
    });
    live.recorded(events, result);
    return result;
  };

  const flighting = options.flighting
    ? startFlighting(storage, options.flighting, (evs) => record(evs.map((ev) => ({ ...ev, source: 'ringmaster' }))), log, initial.manifestRepository)
    : undefined;
  if (flighting) registerFlightingMetrics(metrics.registry, flighting, storage);
  const drift = startDrift(flighting, options.drift, log, metrics.registry, storage);
  const requests = startRequests({ flighting, options: options.requests, fleetRepository: initial.fleetRepository, log });
  const notifier = startNotifier(flighting, storage, options.notifications, log);

  let closed: Promise<void> | undefined;
  const close = async () => {
    await requests?.runner.stop();
    await drift?.stop();
    await flighting?.engine.stop();
    await notifier?.stop();
    flighting?.ctx.clients.close();
    if (ownsStorage) await storage.close();
  };
  return {
    storage, writes, auth: new TokenAuthenticator(storage), directory, metrics, live, settings, record, flighting, drift, requests, notifier,
    close: () => (closed ??= close()),
  };
}
