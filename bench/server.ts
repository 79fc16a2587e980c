// Server benchmark: the control plane loaded over loopback by autocannon, on SQLite and on PostgreSQL,
// with 1,000,000 journey events already stored (100,000 changes × 10 events, seeded with bulk inserts).
// The server runs in a child process so that the load generator does not share its event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { createToken, openStorage, type Storage } from '@ringmaster/server';
import { startPostgres } from '../packages/server/test/helpers/postgres.ts';

const CHANGES = 100_000;
const EVENTS_PER_CHANGE = 10;
const APPS = 50;
const TEAMS = 10;
const RINGS = ['dev', 'canary', 'prod'];
const CLUSTERS_PER_RING = 20;
const DAY = 86_400_000;
const DURATION_S = Number(process.env.RINGMASTER_BENCH_SECONDS ?? 10);
const log = (s: string) => process.stderr.write(`[bench:server] ${s}\n`);
const hex = (n: number, len = 40) => n.toString(16).padStart(len, '0');

interface Figures {
  backend: string;
  seedSeconds: number;
  single: { perSecond: number; p50: number; p99: number; errors: number; cpuUsPerEvent: number };
  batch: { eventsPerSecond: number; batchSize: number; p99: number; errors: number; cpuUsPerEvent: number };
  list: Latency;
  listFiltered: Latency;
  timeline: Latency;
  dora: Latency;
  doraTeam: Latency;
}
interface Latency { p50: number; p95: number; p99: number }

/** Bulk-inserts the synthetic history (1,000,000 events) straight into the tables, bypassing the API. */
export async function seed(storage: Storage): Promise<void> {
  const now = Date.now();
  const start = now - 90 * DAY;
  const chunk = storage.dialect === 'postgres' ? 1000 : 500;
  type Row = Record<string, unknown>;
  const buf: Record<string, Row[]> = { events: [], event_changes: [], changes: [], change_keys: [], change_rings: [], change_targets: [], fleet_state: [] };
  const flush = async (table: string, force = false) => {
    const rows = buf[table]!;
    if (rows.length === 0 || (!force && rows.length < chunk)) return;
    buf[table] = [];
    await storage.db.insertInto(table as any).values(rows as any).execute();
  };
  const flushAll = async (force = false) => {
    for (const t of Object.keys(buf)) await flush(t, force);
  };
  for (let t = 0; t < TEAMS; t++) {
    for (let a = t; a < APPS; a += TEAMS) await storage.db.insertInto('apps').values({ app: `app-${a}`, team: `team-${t}`, contacts: null, updated_at: now }).execute();
  }
  let eventId = 0;
  for (let i = 0; i < CHANGES; i++) {
    const id = hex(i + 1);
    const app = `app-${i % APPS}`;
    const team = `team-${(i % APPS) % TEAMS}`;
    const committed = start + Math.floor((i / CHANGES) * 90 * DAY);
    const failed = i % 20 === 0;
    const reached = RINGS.map((_, r) => committed + (r + 1) * 3_600_000 + (i % 7) * 600_000);
    const cluster = (r: number) => `${RINGS[r]}-${i % CLUSTERS_PER_RING}`;
    buf.changes!.push({
      id, app, team, repository: `acme/${app}`, commit_sha: id, branch: 'main', author: `dev-${i % 300}`, author_email: `dev-${i % 300}@example.net`,
      title: `change ${i}`, committed_at: committed, updated_at: reached[2], stage: 'healthy', status: failed ? 'failed' : 'succeeded',
      build_id: `ci-${i}`, build_url: null, image: `registry.example.net/${app}:${i}`, image_digest: null, fleet_revision: hex(i + 1_000_000),
      release_id: `rel-${i}`, failed_at: failed ? reached[2]! + 60_000 : null,
    });
    buf.change_keys!.push({ kind: 'commit', value: id, change_id: id });
    const kinds: Array<[string, number, number | null, string | null]> = [
      ['commit', committed, null, null], ['build.started', committed + 60_000, null, null], ['build.finished', committed + 600_000, null, 'succeeded'],
      ['image.pushed', committed + 660_000, null, null], ['release', committed + 1_200_000, null, null],
      ['sync', reached[0]! - 60_000, 0, 'Synced'], ['health', reached[0]!, 0, 'Healthy'], ['health', reached[1]!, 1, 'Healthy'],
      ['sync', reached[2]! - 60_000, 2, 'Synced'], ['health', reached[2]!, 2, 'Healthy'],
    ];
    for (const [kind, at, ring, status] of kinds.slice(0, EVENTS_PER_CHANGE)) {
      eventId++;
      buf.events!.push({
        id: eventId, kind, source: 'api', delivery_id: null, idempotency_key: null, app, team: null, repository: `acme/${app}`, commit_sha: id,
        previous_commit: null, branch: 'main', author: null, author_email: null, message: null, build_id: `ci-${i}`, build_url: null,
        image: null, image_digest: null, release_id: `rel-${i}`, ring: ring === null ? null : RINGS[ring], cluster: ring === null ? null : cluster(ring),
        instance: null, status, url: null, occurred_at: at, received_at: at, data: null,
      });
      buf.event_changes!.push({ event_id: eventId, change_id: id });
    }
    RINGS.forEach((ring, r) => {
      buf.change_rings!.push({ change_id: id, app, team, ring, reached_at: reached[r], lead_ms: reached[r]! - committed });
      buf.change_targets!.push({
        change_id: id, cluster: cluster(r), instance: app, app, ring, state: 'healthy', manifest_commit: hex(i + 2_000_000), release_id: `rel-${i}`,
        synced_at: reached[r]! - 60_000, healthy_at: reached[r], updated_at: reached[r],
      });
    });
    await flushAll();
    if (i % 20_000 === 19_999) log(`seeded ${(i + 1).toLocaleString('en')} changes`);
  }
  await flushAll(true);
  // the fleet now: every app on every cluster
  for (let r = 0; r < RINGS.length; r++) {
    for (let c = 0; c < CLUSTERS_PER_RING; c++) {
      buf.fleet_state!.push(...Array.from({ length: APPS }, (_, a) => ({
        cluster: `${RINGS[r]}-${c}`, instance: `app-${a}`, app: `app-${a}`, ring: RINGS[r], release_id: 'rel-1', image: `registry.example.net/app-${a}:1`,
        revision: hex(3), change_id: hex(1), sync: 'Synced', health: 'Healthy', updated_at: now,
      })));
      await flush('fleet_state', true);
    }
  }
  if (storage.dialect === 'postgres') {
    // ids were given explicitly; move the sequence past them, and refresh planner statistics
    await sql.raw(`SELECT setval('events_id_seq', ${eventId})`).execute(storage.db);
  }
  await sql.raw('ANALYZE').execute(storage.db);
}

/** Runs the API server in a child process; resolves to its URL once it listens. */
function startChild(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const code = "const m = await import('./bench/server.ts'); await m.runBenchServerChild();";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: join(import.meta.dirname, '..'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^LISTENING (\S+)$/m.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (c) => reject(new Error(`bench server exited with ${c}: ${out}`)));
  });
}

/** Entry point of the child process. */
export async function runBenchServerChild(): Promise<void> {
  const { startServer } = await import('@ringmaster/server');
  const server = await startServer({
    host: '127.0.0.1', port: 0, logLevel: false, bodyLimit: 8 * 1024 * 1024,
    dataDir: process.env.BENCH_DATA_DIR, databaseUrl: process.env.BENCH_DATABASE_URL, poolSize: 16,
    settings: { rings: RINGS },
  });
  process.stdout.write(`LISTENING ${server.url}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

async function latencies(url: string, token: string, paths: () => string, n = 200): Promise<Latency> {
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const t0 = performance.now();
    const res = await fetch(url + paths(), { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${paths()} answered ${res.status}`);
    if (i >= 10) times.push(performance.now() - t0); // the first requests warm caches
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => Math.round(times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]! * 10) / 10;
  return { p50: p(0.5), p95: p(0.95), p99: p(0.99) };
}

/** The server's own CPU seconds, from its Prometheus metrics: a figure that other load on the machine does not skew. */
async function serverCpuSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^ringmaster_process_cpu_seconds_total (\S+)$/m.exec(text);
  if (!m) throw new Error('the server does not export ringmaster_process_cpu_seconds_total');
  return Number(m[1]);
}

function cannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function benchBackend(backend: 'sqlite' | 'postgres'): Promise<Figures> {
  let cleanup = async () => {};
  let storageOptions: { dataDir?: string; databaseUrl?: string };
  if (backend === 'postgres') {
    const pg = await startPostgres();
    storageOptions = { databaseUrl: await pg.createDatabase() };
    cleanup = () => pg.stop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-bench-'));
    storageOptions = { dataDir: dir };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  let child: ChildProcess | undefined;
  try {
    const storage = await openStorage(storageOptions);
    const t0 = performance.now();
    log(`${backend}: seeding ${(CHANGES * EVENTS_PER_CHANGE).toLocaleString('en')} events`);
    await seed(storage);
    const seedSeconds = (performance.now() - t0) / 1000;
    log(`${backend}: seeded in ${seedSeconds.toFixed(1)} s`);
    const token = (await createToken(storage, { name: 'bench', role: 'admin' })).token;
    await storage.close();

    const started = await startChild(backend === 'postgres' ? { BENCH_DATABASE_URL: storageOptions.databaseUrl! } : { BENCH_DATA_DIR: storageOptions.dataDir! });
    child = started.child;
    const url = started.url;
    const day90 = new Date(Date.now() - 90 * DAY).toISOString();

    log(`${backend}: queries`);
    let k = 0;
    const list = await latencies(url, token, () => '/api/v1/changes?limit=100');
    const listFiltered = await latencies(url, token, () => `/api/v1/changes?limit=100&app=app-${k++ % APPS}&status=succeeded`);
    const timeline = await latencies(url, token, () => `/api/v1/changes/${hex(1 + ((k++ * 7919) % CHANGES))}`);
    const dora = await latencies(url, token, () => `/api/v1/dora?from=${day90}`, 50);
    const doraTeam = await latencies(url, token, () => `/api/v1/dora?team=team-${k++ % TEAMS}&from=${day90}`, 50);

    log(`${backend}: single-event ingest for ${DURATION_S} s`);
    let seq = 0;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const cpu0 = await serverCpuSeconds(url);
    const single = await cannon({
      url: `${url}/api/v1/events`, method: 'POST', connections: 16, duration: DURATION_S, headers,
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ kind: 'commit', app: `app-${seq % APPS}`, commit: hex(5_000_000 + seq++), author: 'bench', branch: 'main' }) }) }],
    });
    log(`${backend}: batch ingest for ${DURATION_S} s`);
    const BATCH = 500;
    const cpu1 = await serverCpuSeconds(url);
    const batch = await cannon({
      url: `${url}/api/v1/events`, method: 'POST', connections: 4, duration: DURATION_S, headers,
      requests: [{
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ events: Array.from({ length: BATCH }, () => ({ kind: 'commit', app: `app-${seq % APPS}`, commit: hex(5_000_000 + seq++), author: 'bench' })) }),
        }),
      }],
    });
    const cpu2 = await serverCpuSeconds(url);
    const ok = (r: autocannon.Result) => r.errors + r.non2xx;
    const perEvent = (cpu: number, events: number) => Math.round((cpu * 1e6) / Math.max(1, events));
    return {
      backend, seedSeconds,
      single: { perSecond: single.requests.average, p50: single.latency.p50, p99: single.latency.p99, errors: ok(single), cpuUsPerEvent: perEvent(cpu1 - cpu0, single.requests.total) },
      batch: { eventsPerSecond: batch.requests.average * BATCH, batchSize: BATCH, p99: batch.latency.p99, errors: ok(batch), cpuUsPerEvent: perEvent(cpu2 - cpu1, batch.requests.total * BATCH) },
      list, listFiltered, timeline, dora, doraTeam,
    };
  } finally {
    if (child) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await cleanup();
  }
}

const verdict = (ok: boolean) => (ok ? '✓' : '✗ missed');

/** Runs the server benchmark on SQLite and PostgreSQL and returns a Markdown section. */
export async function benchServer(): Promise<string> {
  const results: Figures[] = [];
  // RINGMASTER_BENCH_BACKENDS=sqlite runs one backend only (for quick iterations); the report wants both
  const only = process.env.RINGMASTER_BENCH_BACKENDS?.split(',');
  for (const backend of ['sqlite', 'postgres'] as const) if (!only || only.includes(backend)) results.push(await benchBackend(backend));
  const s = results[0]!;
  const p = results[1] ?? results[0]!;
  const rows: Array<[string, string, (f: Figures) => string, (f: Figures) => boolean | undefined]> = [
    ['single-event ingest', '≥ 3,000 events/s', (f) => `${Math.round(f.single.perSecond).toLocaleString('en')} events/s`, (f) => f.single.perSecond >= 3000],
    ['server CPU per event, single / batch', '—', (f) => `${f.single.cpuUsPerEvent} µs / ${f.batch.cpuUsPerEvent} µs`, () => undefined],
    ['single-event ingest p99', '< 50 ms', (f) => `${f.single.p99} ms (p50 ${f.single.p50} ms)`, (f) => f.single.p99 < 50],
    [`batch ingest (${s.batch.batchSize}/request)`, '≥ 20,000 events/s', (f) => `${Math.round(f.batch.eventsPerSecond).toLocaleString('en')} events/s (p99 ${f.batch.p99} ms)`, (f) => f.batch.eventsPerSecond >= 20000],
    ['list 100 changes, newest', 'p95 < 50 ms', (f) => `p95 ${f.list.p95} ms (p50 ${f.list.p50}, p99 ${f.list.p99})`, (f) => f.list.p95 < 50],
    ['list 100 changes, app + status filter', 'p95 < 50 ms', (f) => `p95 ${f.listFiltered.p95} ms (p50 ${f.listFiltered.p50}, p99 ${f.listFiltered.p99})`, (f) => f.listFiltered.p95 < 50],
    ['one change with its timeline', '—', (f) => `p95 ${f.timeline.p95} ms (p50 ${f.timeline.p50})`, () => undefined],
    ['DORA, whole fleet, 90 days', '< 200 ms', (f) => `p95 ${f.dora.p95} ms (p50 ${f.dora.p50})`, (f) => f.dora.p95 < 200],
    ['DORA, one team, 90 days', '< 200 ms', (f) => `p95 ${f.doraTeam.p95} ms (p50 ${f.doraTeam.p50})`, (f) => f.doraTeam.p95 < 200],
  ];
  const lines = [
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} (nproc ${cpus().length}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB memory, Node.js ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `Data: ${(CHANGES * EVENTS_PER_CHANGE).toLocaleString('en')} events stored (${CHANGES.toLocaleString('en')} changes × ${EVENTS_PER_CHANGE} events over 90 days, ${APPS} apps, ${TEAMS} teams, ${RINGS.length} rings × ${CLUSTERS_PER_RING} clusters), seeded by bulk insert in ${s.seedSeconds.toFixed(0)} s (SQLite) and ${p.seedSeconds.toFixed(0)} s (PostgreSQL). ` +
      `Load: autocannon over loopback against the server in a child process; ingest runs ${DURATION_S} s each with 16 connections (single) and 4 (batch); query latencies are 200 sequential requests (50 for DORA) after 10 warm-up requests. Every ingest request is authenticated and audited. SQLite in WAL mode (synchronous=NORMAL); PostgreSQL ${'15'} with fsync off (a throwaway test cluster).`,
    '',
    '| measure | goal (SQLite) | SQLite | | PostgreSQL | |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(([name, goal, fmt, okf]) => {
      const v = (f: Figures) => { const ok = okf(f); return ok === undefined ? '' : verdict(ok); };
      return `| ${name} | ${goal} | ${fmt(s)} | ${v(s)} | ${fmt(p)} | ${v(p)} |`;
    }),
    '',
    `Errors or non-2xx answers during load: SQLite ${s.single.errors + s.batch.errors}, PostgreSQL ${p.single.errors + p.batch.errors}.`,
  ];
  return lines.join('\n');
}
