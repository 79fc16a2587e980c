import { createHash } from 'node:crypto';
import type { EventInput, ImageIntroduction, ImageIntroductionFinder } from '@ringmaster/server';

const MIN = 60_000;
const HOUR = 60 * MIN;

export const sha = (s: string) => createHash('sha1').update(s).digest('hex');
const at = (ms: number) => new Date(ms).toISOString();

export interface Cluster {
  name: string;
  ring: string;
  region: string;
}

export interface App {
  app: string;
  team: string;
  instances: string[];
}

/**
 * Stands in for the fleet repo's rendered plan: the seed knows which images each of its fleet
 * commits introduces, on which instances (the server asks the same question of `ringmaster plan`).
 */
export class SeedFinder implements ImageIntroductionFinder {
  readonly introductions = new Map<string, ImageIntroduction[]>();
  async find({ to }: { from: string; to: string }): Promise<ImageIntroduction[]> {
    return this.introductions.get(to) ?? [];
  }
}

const AUTHORS = [
  ['Maya Lindqvist', 'maya@acme.test'], ['Tomás Ferreira', 'tomas@acme.test'], ['Priya Raman', 'priya@acme.test'],
  ['Jonas Weber', 'jonas@acme.test'], ['Aiko Tanaka', 'aiko@acme.test'], ['Sam Okafor', 'sam@acme.test'],
] as const;
const TITLES = [
  'Cache warm-up waits for the synchronizer', 'Retry payment captures on 503', 'Faster facet counts for large catalogues',
  'Frontend serves stale cache while backend restarts', 'Bump base image to bookworm', 'Drop legacy session cookie',
  'Index tenant id on orders', 'Tighter readiness probe for backend nodes', 'Paginate invoice export', 'Fix N+1 in basket totals',
];

export const JOURNEY_APPS: App[] = [
  { app: 'shop', team: 'storefront', instances: ['shop-acme', 'shop-globex'] },
  { app: 'billing', team: 'payments', instances: ['billing'] },
  { app: 'search', team: 'discovery', instances: ['search'] },
];

export const JOURNEY_CLUSTERS: Cluster[] = [
  { name: 'dev-eu-1', ring: 'dev', region: 'eu-west' }, { name: 'dev-us-1', ring: 'dev', region: 'us-east' },
  { name: 'canary-eu-1', ring: 'canary', region: 'eu-west' }, { name: 'canary-us-1', ring: 'canary', region: 'us-east' },
  { name: 'canary-ap-1', ring: 'canary', region: 'ap-south' },
  ...['eu-west', 'us-east', 'ap-south'].flatMap((region) => [1, 2, 3].map((n) => ({ name: `prod-${region.split('-')[0]}-${n}`, ring: 'prod', region }))),
];

const RING_OFFSETS: Record<string, number> = { dev: 40 * MIN, canary: 95 * MIN, prod: 4 * HOUR };

export interface JourneyChange {
  app: App;
  commit: string;
  release: string;
  image: string;
  fleetCommit: string;
}

/** How far a seeded change gets: every ring, up to (and waiting before) a ring, or failing in one. */
export type Fate = { kind: 'done'; incident?: boolean } | { kind: 'building' } | { kind: 'stops'; before: string; waiting?: boolean } | { kind: 'fails'; ring: string };

/**
 * Events for one change's whole journey, as CI, the Git host, Ringmaster's promotions and Argo CD
 * would report them: commit → PR → build → image → fleet commit → release → per ring, manifest
 * commit, Synced, Healthy.
 */
export function journeyEvents(n: number, t0: number, app: App, clusters: Cluster[], finder: SeedFinder, fate: Fate): { events: EventInput[]; change: JourneyChange } {
  const [author, email] = AUTHORS[n % AUTHORS.length]!;
  const commit = sha(`${app.app}-${n}`);
  const version = `1.${Math.floor(n / 10)}.${n % 10}`;
  const image = `acme/${app.app}:${version}`;
  const fleetCommit = sha(`fleet-${app.app}-${n}`);
  const release = `rel-${app.app}-${version}`;
  const buildId = `${app.app}-ci-${1000 + n}`;
  const ev: EventInput[] = [
    { kind: 'commit', app: app.app, team: app.team, repository: `acme/${app.app}`, commit, branch: n % 7 === 3 ? 'hotfix/payments' : 'main', author, authorEmail: email,
      message: `${TITLES[n % TITLES.length]} (#${400 + n})`, url: `https://git.acme.test/acme/${app.app}/commit/${commit}`, occurredAt: at(t0) },
    { kind: 'pr.merged', app: app.app, repository: `acme/${app.app}`, commit, url: `https://git.acme.test/acme/${app.app}/pull/${400 + n}`, occurredAt: at(t0 + 2 * MIN) },
    { kind: 'build.started', app: app.app, commit, buildId, buildUrl: `https://ci.acme.test/builds/${buildId}`, occurredAt: at(t0 + 3 * MIN) },
  ];
  const change = { app, commit, release, image, fleetCommit };
  if (fate.kind === 'building') return { events: ev, change };
  ev.push(
    { kind: 'build.finished', app: app.app, commit, buildId, status: 'succeeded', buildUrl: `https://ci.acme.test/builds/${buildId}`, occurredAt: at(t0 + (9 + (n % 5)) * MIN) },
    { kind: 'image.pushed', app: app.app, commit, buildId, image, imageDigest: `sha256:${createHash('sha256').update(image).digest('hex')}`, occurredAt: at(t0 + 15 * MIN) },
  );
  const targets = clusters.flatMap((c) => app.instances.map((instance) => ({ cluster: c, instance })));
  finder.introductions.set(fleetCommit, targets.map((t) => ({ instance: t.instance, app: app.app, cluster: t.cluster.name, ring: t.cluster.ring, imagesAdded: [image] })));
  ev.push(
    { kind: 'commit', repository: 'acme/fleet', commit: fleetCommit, previousCommit: sha(`fleet-before-${app.app}-${n}`), author: 'ringmaster-bot', message: `${app.app}: ${version}`,
      url: `https://git.acme.test/acme/fleet/commit/${fleetCommit}`, occurredAt: at(t0 + 25 * MIN) },
    { kind: 'release', release, commit: fleetCommit, image, app: app.app, occurredAt: at(t0 + 30 * MIN) },
  );
  // some changes wait longer between rings than others: the ETAs and lead times get a spread
  // (changes still travelling keep the usual pace, so none of their events lies in the future)
  const pace = fate.kind === 'stops' ? 1 : 1 + ((n * 7) % 5) * 0.2;
  for (const ring of ['dev', 'canary', 'prod']) {
    const start = t0 + 30 * MIN + (RING_OFFSETS[ring]! - 30 * MIN) * pace;
    if (fate.kind === 'stops' && fate.before === ring) {
      if (fate.waiting) ev.push({ kind: 'promotion.step', release, ring, status: 'waiting', occurredAt: at(start), data: { gate: 'approval' } });
      break;
    }
    ev.push({ kind: 'promotion.step', release, ring, status: 'started', occurredAt: at(start - MIN) });
    const inRing = clusters.filter((c) => c.ring === ring);
    inRing.forEach((c, i) => {
      const manifest = sha(`manifest-${release}-${c.name}`);
      const step = start + i * 3 * MIN;
      ev.push({ kind: 'commit', repository: 'acme/manifests', commit: manifest, message: `${release} to ${c.name}\n\nRingmaster-Release: ${release}\nRingmaster-Source-Revision: ${fleetCommit}\nRingmaster-Ring: ${ring}\nRingmaster-Cluster: ${c.name}`, occurredAt: at(step) });
      for (const instance of app.instances) {
        ev.push({ kind: 'sync', cluster: c.name, instance, app: app.app, ring, release, commit: manifest, status: 'Synced', occurredAt: at(step + 2 * MIN), data: { region: c.region } });
        const bad = fate.kind === 'fails' && fate.ring === ring && i === 0;
        ev.push({ kind: 'health', cluster: c.name, instance, app: app.app, ring, release, status: bad ? 'Degraded' : 'Healthy', occurredAt: at(step + 6 * MIN), data: { region: c.region } });
      }
    });
    if (fate.kind === 'fails' && fate.ring === ring) {
      ev.push({ kind: 'promotion.step', release, ring, status: 'failed', occurredAt: at(start + 20 * MIN), data: { reason: 'wave 1 Degraded' } });
      break;
    }
    ev.push({ kind: 'promotion.step', release, ring, status: 'succeeded', occurredAt: at(start + 30 * MIN) });
  }
  if (fate.kind === 'done' && fate.incident) {
    // reached production, then broke there: a failed deployment and an incident, restored 40 minutes later
    const c = clusters.find((x) => x.ring === 'prod')!;
    const broke = t0 + 6 * HOUR;
    ev.push(
      { kind: 'health', cluster: c.name, instance: app.instances[0]!, app: app.app, ring: 'prod', release, status: 'Degraded', occurredAt: at(broke), data: { region: c.region } },
      { kind: 'health', cluster: c.name, instance: app.instances[0]!, app: app.app, ring: 'prod', release, status: 'Healthy', occurredAt: at(broke + 40 * MIN), data: { region: c.region } },
    );
  }
  return { events: ev, change };
}

/** Forty changes over four weeks on 15 clusters in three rings and three regions, a few still travelling. */
export function journeySeed(now: number, finder: SeedFinder): { events: EventInput[]; changes: JourneyChange[] } {
  const events: EventInput[] = [];
  const changes: JourneyChange[] = [];
  const total = 40;
  for (let n = 0; n < total; n++) {
    const age = total - 1 - n;
    const app = JOURNEY_APPS[n % JOURNEY_APPS.length]!;
    const t0 = now - age * 17 * HOUR - 20 * MIN;
    let fate: Fate = { kind: 'done' };
    if (age === 0) fate = { kind: 'building' };
    else if (age === 1) fate = { kind: 'stops', before: 'canary' };
    else if (age === 2) fate = { kind: 'stops', before: 'prod', waiting: true };
    else if (age === 9 || age === 23) fate = { kind: 'fails', ring: 'canary' };
    else if (age === 6 || age === 30) fate = { kind: 'done', incident: true };
    // the newest changes happened minutes ago: squeeze their timeline so their rings are still ahead
    const t = age <= 2 ? now - (age + 1) * 50 * MIN : t0;
    const r = journeyEvents(n, t, app, JOURNEY_CLUSTERS, finder, fate);
    events.push(...r.events);
    changes.push(r.change);
  }
  return { events, changes };
}

/**
 * The fleet at scale: 500 clusters (50 dev, 100 canary, 350 prod over four regions) with 20
 * instances each (10,000), and 1,000 changes of five apps. Every change goes through CI and
 * release and reaches one cluster per ring (history for ETAs and DORA); the fleet then runs
 * the newest three releases of each app (newest in dev, oldest in prod), with some drift and
 * some Degraded instances.
 */
export function scaleSeed(now: number): { events: EventInput[]; clusters: Cluster[]; apps: App[] } {
  const regions = ['eu-west', 'eu-north', 'us-east', 'ap-south'];
  const clusters: Cluster[] = [];
  const rings: Array<[string, number]> = [['dev', 50], ['canary', 100], ['prod', 350]];
  for (const [ring, count] of rings) {
    for (let i = 0; i < count; i++) clusters.push({ name: `${ring}-${regions[i % 4]}-${String(i).padStart(3, '0')}`, ring, region: regions[i % 4]! });
  }
  const apps: App[] = ['shop', 'billing', 'search', 'ledger', 'gateway'].map((app, i) => ({
    app, team: ['storefront', 'payments', 'discovery', 'payments', 'platform'][i]!, instances: [1, 2, 3, 4].map((k) => `${app}-${k}`),
  }));
  const events: EventInput[] = [];
  const perApp = 200;
  const releases = new Map<string, string[]>();
  for (let k = 0; k < perApp; k++) {
    for (const app of apps) {
      const n = k * apps.length + apps.indexOf(app);
      const t0 = now - (perApp - k) * 3 * HOUR;
      const commit = sha(`scale-${app.app}-${k}`);
      const image = `acme/${app.app}:2.${k}.0`;
      const release = `rel-${app.app}-2.${k}.0`;
      const buildId = `${app.app}-${k}`;
      const [author, email] = AUTHORS[n % AUTHORS.length]!;
      events.push(
        { kind: 'commit', app: app.app, team: app.team, repository: `acme/${app.app}`, commit, branch: 'main', author, authorEmail: email, message: `${TITLES[n % TITLES.length]} (#${k})`, occurredAt: at(t0) },
        { kind: 'build.started', app: app.app, commit, buildId, occurredAt: at(t0 + 2 * MIN) },
        { kind: 'build.finished', app: app.app, commit, buildId, status: 'succeeded', occurredAt: at(t0 + 10 * MIN) },
        { kind: 'image.pushed', app: app.app, commit, buildId, image, occurredAt: at(t0 + 12 * MIN) },
        { kind: 'release', release, image, app: app.app, occurredAt: at(t0 + 20 * MIN) },
      );
      releases.set(app.app, [...(releases.get(app.app) ?? []), release]);
      if (k < perApp - 3) {
        for (const [ring, offset] of [['dev', 40 * MIN], ['canary', 80 * MIN], ['prod', 150 * MIN]] as const) {
          const c = clusters.find((x) => x.ring === ring)!;
          events.push({ kind: 'health', cluster: c.name, instance: app.instances[0]!, app: app.app, ring, release, status: 'Healthy', occurredAt: at(t0 + offset + (k % 7) * MIN) });
        }
      }
    }
  }
  clusters.forEach((c, ci) => {
    for (const app of apps) {
      const list = releases.get(app.app)!;
      const release = list[list.length - 1 - (c.ring === 'dev' ? 0 : c.ring === 'canary' ? 1 : 2)]!;
      for (const instance of app.instances) {
        const drift = ci % 37 === 0 && instance.endsWith('-2');
        const degraded = ci % 53 === 0 && instance.endsWith('-3');
        const t = now - 30 * MIN;
        events.push(
          { kind: 'sync', cluster: c.name, instance, app: app.app, ring: c.ring, release, status: drift ? 'OutOfSync' : 'Synced', occurredAt: at(t), data: { region: c.region } },
          { kind: 'health', cluster: c.name, instance, app: app.app, ring: c.ring, release, status: degraded ? 'Degraded' : 'Healthy', occurredAt: at(t + MIN), data: { region: c.region } },
        );
      }
    }
  });
  return { events, clusters, apps };
}
