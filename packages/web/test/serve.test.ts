import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBundle, startDashboard, type Dashboard } from './helpers.ts';
import { sha } from './seed.ts';

// How `ringmaster serve` serves the dashboard and its stream, over plain HTTP (no browser).
let dash: Dashboard;

beforeAll(async () => {
  dash = await startDashboard();
});
afterAll(async () => {
  await dash?.close();
});

/** Reads server-sent events from an open response until `until` says stop. */
async function readEvents(res: Response, until: (events: Array<{ event: string; data: any }>) => boolean, timeoutMs = 10_000) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: any }> = [];
  let buf = '';
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

/** The stream's first event as a promise: `notice`, called from readEvents' `until`, settles it once the hello has arrived. */
function helloOf(): { seen: Promise<void>; notice: (events: Array<{ event: string }>) => void } {
  let resolve!: () => void;
  const seen = new Promise<void>((r) => (resolve = r));
  return { seen, notice: (events) => void (events.some((e) => e.event === 'hello') && resolve()) };
}

describe('serving the dashboard', () => {
  test('any page path answers the app, assets are cached for good, API paths never fall back to it', async () => {
    for (const path of ['/', '/changes?app=shop&since=7d', '/fleet/prod-eu-1/shop', '/dora']) {
      const res = await fetch(dash.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="root">');
    }
    const asset = readdirSync(join(ensureBundle(), 'assets')).find((f) => f.endsWith('.js'))!;
    const js = await fetch(`${dash.url}/assets/${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${dash.url}/assets/nope.js`)).status).toBe(404);

    const api = await fetch(`${dash.url}/api/v1/nope`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: 'RINGMASTER_NOT_FOUND', message: 'no route GET /api/v1/nope' } });
    // the server's own endpoints keep their answers
    expect((await fetch(`${dash.url}/metrics`)).headers.get('content-type')).toContain('text/plain');
    expect(await (await fetch(`${dash.url}/healthz`)).json()).toEqual({ status: 'ok' });
  });
});

describe('the live stream', () => {
  test('needs a token', async () => {
    const res = await fetch(`${dash.url}/api/v1/stream`);
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  test('announces recorded events, a whole batch as one update naming its changes, clusters and releases', async () => {
    const res = await fetch(`${dash.url}/api/v1/stream`, { headers: { authorization: `Bearer ${dash.tokens.viewer}` } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const commits = Array.from({ length: 300 }, (_, i) => sha(`stream-${i}`));
    const hello = helloOf();
    const reading = readEvents(res, (evs) => {
      hello.notice(evs);
      return evs.some((e) => e.event === 'update');
    });
    // the hello says the subscription exists: post only then
    await hello.seen;
    await dash.post([
      ...commits.map((commit) => ({ kind: 'commit' as const, app: 'shop', repository: 'acme/shop', commit })),
      { kind: 'health', cluster: 'prod-eu-1', instance: 'shop', status: 'Healthy', release: 'rel-1' },
    ]);
    const events = await reading;
    expect(events[0]).toMatchObject({ event: 'hello' });
    const updates = events.filter((e) => e.event === 'update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.data.kinds.sort()).toEqual(['commit', 'health']);
    expect(updates[0]!.data.changes).toHaveLength(300);
    expect(updates[0]!.data.changes).toContain(commits[0]);
    expect(updates[0]!.data.clusters).toEqual(['prod-eu-1']);
    expect(updates[0]!.data.releases).toEqual(['rel-1']);
  });

  test('an open stream does not keep the server from closing', async () => {
    const other = await startDashboard();
    const res = await fetch(`${other.url}/api/v1/stream`, { headers: { authorization: `Bearer ${other.tokens.viewer}` } });
    const hello = helloOf();
    const reading = readEvents(res, (evs) => {
      hello.notice(evs);
      return false;
    }, 20_000);
    await hello.seen;
    const started = Date.now();
    await other.close();
    await reading;
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('dashboard endpoints', () => {
  test('refuse bad queries with the field and reason', async () => {
    const drift = await dash.call('GET', '/api/v1/dashboard/fleet?drift=maybe');
    expect(drift.status).toBe(400);
    expect(drift.body.error.field).toBe('query.drift');
    expect((await dash.call('GET', '/api/v1/dashboard/fleet?limit=5000')).body.error.field).toBe('query.limit');
    expect((await dash.call('GET', '/api/v1/dashboard/fleet?colour=red')).status).toBe(400);
    expect((await dash.call('GET', '/api/v1/dashboard/dora/series?app=a&team=b')).body.error.field).toBe('query.team');
    expect((await dash.call('GET', '/api/v1/dashboard/dora/series?buckets=0')).body.error.field).toBe('query.buckets');
    expect((await dash.call('GET', '/api/v1/dashboard/changes?status=sideways')).body.error.field).toBe('query.status');
    expect((await dash.call('GET', '/api/v1/dashboard/me', undefined, 'bogus')).status).toBe(401);
  });

  test('the fleet matrix pages clusters and keeps totals for every page', async () => {
    const events = [];
    for (let c = 0; c < 7; c++) {
      for (const instance of ['a', 'b']) {
        events.push({ kind: 'health' as const, cluster: `c${c}`, instance, ring: c < 2 ? 'dev' : 'prod', status: c === 3 && instance === 'b' ? 'Degraded' as const : 'Healthy' as const, data: { region: c % 2 ? 'east' : 'west' } });
      }
    }
    await dash.post(events);
    const page1 = (await dash.call('GET', '/api/v1/dashboard/fleet?limit=3')).body;
    const page3 = (await dash.call('GET', '/api/v1/dashboard/fleet?limit=3&offset=6')).body;
    expect(page1.total).toBe(8); // c0..c6 and prod-eu-1 from the stream test
    // ring order (dev before prod), then region, then name; clusters without a ring come last
    expect(page1.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['c1', 'c0', 'c3']);
    expect(page1.clusters[0]).toMatchObject({ ring: 'dev', region: 'east', instances: 2, healthy: 2 });
    expect(page3.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(['c6', 'prod-eu-1']);
    expect(page3.groups).toEqual(page1.groups);
    expect(page1.groups.find((g: { ring: string; region: string }) => g.ring === 'prod' && g.region === 'east')).toMatchObject({ clusters: 2, instances: 4, healthy: 3, degraded: 1 });
    const degraded = (await dash.call('GET', '/api/v1/dashboard/fleet?health=Degraded')).body;
    expect(degraded.clusters.map((c: any) => [c.cluster, c.cells[''].instances.map((i: { instance: string }) => i.instance)])).toEqual([['c3', ['b']]]);
    expect(page1.clusters[0].cells['']).toMatchObject({ more: 0, healthy: 2, degraded: 0, drifted: 0 });
  });
});
