import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, useBackends, type TestServer } from './helpers/harness.ts';

const backends = useBackends();
const sha = (n: number) => n.toString(16).padStart(40, '0');

describe.each(BACKENDS)('HTTP API on %s', (backend) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(await backends.options(backend), { bodyLimit: 64 * 1024, settings: { rings: ['dev', 'canary', 'prod'] } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers health, readiness and Prometheus metrics without a token', async () => {
    expect(await s.call('GET', '/healthz', { token: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await s.call('GET', '/readyz', { token: null })).toMatchObject({ status: 200, body: { status: 'ready', database: backend } });
    const m = await s.call('GET', '/metrics', { token: null });
    expect(m.status).toBe(200);
    expect(m.body).toContain('ringmaster_http_requests_total');
  });

  it('stores a single event and answers with the change it joined', async () => {
    const res = await s.call('POST', '/api/v1/events', { body: { kind: 'commit', app: 'shop', repository: 'acme/shop', commit: sha(1), author: 'ana', branch: 'main', occurredAt: '2026-01-01T10:00:00Z' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ stored: 1, duplicates: 0, events: [{ id: expect.any(Number), changes: [sha(1)] }] });
  });

  it('refuses a bad field with 400 naming the exact field and reason', async () => {
    const res = await s.call('POST', '/api/v1/events', { body: { kind: 'commit', commit: 'not-a-sha' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'RINGMASTER_INVALID_INPUT', field: 'commit' });
    expect(res.body.error.message).toMatch(/hexadecimal/);

    const missing = await s.call('POST', '/api/v1/events', { body: { kind: 'build.finished', buildId: 'b1' } });
    expect(missing.body.error).toMatchObject({ field: 'status' });
    expect(missing.body.error.message).toMatch(/required for kind "build.finished"/);

    const unknown = await s.call('POST', '/api/v1/events', { body: { kind: 'commit', commit: sha(2), colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('colour');
  });

  it('stores nothing of a batch when one event is invalid, and names it by index', async () => {
    const res = await s.call('POST', '/api/v1/events', { body: { events: [
      { kind: 'commit', commit: sha(10) },
      { kind: 'commit', commit: sha(11) },
      { kind: 'health', cluster: 'c1', status: 'Fine' },
    ] } });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('events.2.status');
    const detail = await s.call('GET', `/api/v1/changes/${sha(10)}`);
    expect(detail.status).toBe(404);
  });

  it('stores a batch and treats a repeated idempotency key as a duplicate', async () => {
    const events = [
      { kind: 'commit', app: 'shop', commit: sha(20), idempotencyKey: 'k-20' },
      { kind: 'build.started', app: 'shop', commit: sha(20), buildId: 'ci-20', idempotencyKey: 'k-21' },
    ];
    const first = await s.call('POST', '/api/v1/events', { body: { events } });
    expect(first).toMatchObject({ status: 201, body: { stored: 2, duplicates: 0 } });
    const again = await s.call('POST', '/api/v1/events', { body: { events } });
    expect(again).toMatchObject({ status: 200, body: { stored: 0, duplicates: 2 } });
    const detail = await s.call('GET', `/api/v1/changes/${sha(20)}`);
    expect(detail.body.timeline).toHaveLength(2);
  });

  it('matches stored events back to their position when a batch repeats keys within itself and from before', async () => {
    const res = await s.call('POST', '/api/v1/events', { body: { events: [
      { kind: 'commit', commit: sha(30), idempotencyKey: 'k-30' },
      { kind: 'commit', commit: sha(31) },
      { kind: 'commit', commit: sha(32), idempotencyKey: 'k-30' },
      { kind: 'commit', commit: sha(33), idempotencyKey: 'k-20' },
      { kind: 'commit', commit: sha(34), idempotencyKey: 'k-34' },
    ] } });
    expect(res.body).toMatchObject({ stored: 3, duplicates: 2 });
    const [a, b, c, d, e] = res.body.events;
    expect([a.changes, b.changes, c, d, e.changes]).toEqual([[sha(30)], [sha(31)], { duplicate: true }, { duplicate: true }, [sha(34)]]);
    expect(a.id).toBeLessThan(b.id);
    expect(b.id).toBeLessThan(e.id);
    const detail = await s.call('GET', `/api/v1/changes/${sha(34)}`);
    expect(detail.body.timeline.map((t: any) => t.id)).toEqual([e.id]);
    expect((await s.call('GET', `/api/v1/changes/${sha(32)}`)).status).toBe(404);
  });

  it('joins events of one batch in order whatever comes first: a build before its commit', async () => {
    const res = await s.call('POST', '/api/v1/events', { body: { events: [
      { kind: 'build.started', commit: sha(40), buildId: 'ci-40', occurredAt: '2026-01-05T10:01:00Z' },
      { kind: 'commit', app: 'shop', commit: sha(40), author: 'dora', message: 'Faster checkout\n\nbody', occurredAt: '2026-01-05T10:00:00Z' },
      { kind: 'pr.merged', app: 'shop', commit: sha(41), author: 'eve', branch: 'main' },
      { kind: 'commit', app: 'shop', commit: sha(41), author: 'eve' },
    ] } });
    expect(res.body.stored).toBe(4);
    const change = (await s.call('GET', `/api/v1/changes/${sha(40)}`)).body;
    expect(change).toMatchObject({ app: 'shop', author: 'dora', title: 'Faster checkout', buildId: 'ci-40', stage: 'build', committedAt: '2026-01-05T10:00:00.000Z' });
    expect(change.timeline.map((e: any) => e.kind)).toEqual(['commit', 'build.started']);
    expect((await s.call('GET', `/api/v1/changes/${sha(41)}`)).body.timeline).toHaveLength(2);
  });

  it('answers 401 without or with an unknown token, also on reads', async () => {
    const none = await s.call('POST', '/api/v1/events', { token: null, body: { kind: 'commit', commit: sha(3) } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('RINGMASTER_UNAUTHENTICATED');
    expect((await s.call('GET', '/api/v1/changes', { token: 'rmt_forged' })).status).toBe(401);
    expect((await s.call('GET', '/api/v1/changes', { token: null, headers: { authorization: 'Basic abc' } })).status).toBe(401);
  });

  it('answers 403 when the role or its app/ring scope does not allow the call', async () => {
    const viewer = await s.token('viewer');
    expect((await s.call('GET', '/api/v1/changes', { token: viewer })).status).toBe(200);
    const denied = await s.call('POST', '/api/v1/events', { token: viewer, body: { kind: 'commit', commit: sha(4) } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/needs deployer/);

    const deployer = await s.token('deployer', { apps: ['shop'], rings: ['dev'] });
    expect((await s.call('POST', '/api/v1/events', { token: deployer, body: { kind: 'commit', app: 'shop', commit: sha(5) } })).status).toBe(201);
    const otherApp = await s.call('POST', '/api/v1/events', { token: deployer, body: { kind: 'commit', app: 'billing', commit: sha(6) } });
    expect(otherApp.status).toBe(403);
    expect(otherApp.body.error.message).toMatch(/not scoped to app "billing"/);
    const otherRing = await s.call('POST', '/api/v1/events', { token: deployer, body: { kind: 'promotion.step', app: 'shop', release: 'r1', ring: 'prod', status: 'started' } });
    expect(otherRing.status).toBe(403);
    expect((await s.call('POST', '/api/v1/tokens', { token: deployer, body: { name: 'x', role: 'admin' } })).status).toBe(403);
  });

  it('answers 413 for an oversize body and 415 for a body that is not JSON', async () => {
    const big = await s.call('POST', '/api/v1/events', { body: { kind: 'commit', commit: sha(7), message: 'x'.repeat(70 * 1024) } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('RINGMASTER_PAYLOAD_TOO_LARGE');
    const text = await s.call('POST', '/api/v1/events', { raw: 'kind=commit', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('RINGMASTER_UNSUPPORTED_MEDIA_TYPE');
    const broken = await s.call('POST', '/api/v1/events', { raw: '{"kind":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
  });

  it('writes an audit record for every mutating call, refused ones included', async () => {
    const viewer = await s.token('viewer');
    await s.call('POST', '/api/v1/events', { token: viewer, body: { kind: 'commit', commit: sha(8) } });
    await s.call('POST', '/api/v1/events', { token: null, body: { kind: 'commit', commit: sha(8) } });
    await s.call('PUT', '/api/v1/apps/shop', { body: { team: 'checkout' } });
    const audit = await s.call('GET', '/api/v1/audit?limit=3');
    expect(audit.status).toBe(200);
    const [put, anon, refused] = audit.body.entries;
    expect(put).toMatchObject({ action: 'PUT /api/v1/apps/:app', target: 'app/shop', result: 'ok', status: 200, ip: '127.0.0.1' });
    expect(put.actor).toMatch(/^admin-/);
    expect(anon).toMatchObject({ actor: 'anonymous', action: 'POST /api/v1/events', result: 'denied', status: 401 });
    expect(refused).toMatchObject({ result: 'denied', status: 403, details: { error: 'RINGMASTER_FORBIDDEN' } });
    expect(refused.actor).toMatch(/^viewer-/);
  });

  it('creates, lists and revokes tokens through the API, showing the token only once', async () => {
    const created = await s.call('POST', '/api/v1/tokens', { body: { name: 'ci-shop', role: 'deployer', apps: ['shop'] } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^rmt_/);
    const list = await s.call('GET', '/api/v1/tokens');
    const listed = list.body.tokens.find((t: any) => t.name === 'ci-shop');
    expect(listed).toMatchObject({ role: 'deployer', apps: ['shop'], revokedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect((await s.call('POST', '/api/v1/tokens', { body: { name: 'ci-shop', role: 'viewer' } })).status).toBe(409);
    expect((await s.call('POST', '/api/v1/tokens', { body: { name: 'x', role: 'root' } })).body.error.field).toBe('role');
    expect((await s.call('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
    expect((await s.call('GET', '/api/v1/changes', { token: created.body.token })).status).toBe(401);
  });

  it('lists changes newest first with filters and cursor pagination', async () => {
    const base = Date.parse('2026-02-01T00:00:00Z');
    const events = Array.from({ length: 25 }, (_, i) => ({
      kind: 'commit', app: i % 2 ? 'billing' : 'catalog', commit: sha(1000 + i), author: i % 3 ? 'bob' : 'cleo',
      branch: 'main', occurredAt: new Date(base + i * 60_000).toISOString(),
    }));
    expect((await s.call('POST', '/api/v1/events', { body: { events } })).status).toBe(201);
    await s.call('PUT', '/api/v1/apps/catalog', { body: { team: 'discovery' } });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await s.call('GET', `/api/v1/changes?app=catalog&limit=5&from=2026-02-01T00:00:00Z${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((c: any) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const expected = events.filter((e) => e.app === 'catalog').map((e) => e.commit).reverse();
    expect(seen).toEqual(expected);

    const byTeam = await s.call('GET', '/api/v1/changes?team=discovery&author=cleo&limit=100');
    expect(byTeam.body.items.map((c: any) => c.id)).toEqual(events.filter((e) => e.app === 'catalog' && e.author === 'cleo').map((e) => e.commit).reverse());
    const window = await s.call('GET', `/api/v1/changes?from=${encodeURIComponent(new Date(base + 10 * 60_000).toISOString())}&to=${encodeURIComponent(new Date(base + 12 * 60_000).toISOString())}`);
    expect(window.body.items.map((c: any) => c.id)).toEqual([sha(1011), sha(1010)]);
    const bad = await s.call('GET', '/api/v1/changes?status=stuck');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('query.status');
    expect((await s.call('GET', '/api/v1/changes?cursor=garbage')).body.error.field).toBe('cursor');
  });
});
