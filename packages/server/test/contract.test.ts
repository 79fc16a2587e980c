import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastifyPath, routes, type RouteDef } from '@ringmaster/api';
import { openApiText } from '../src/http/contract.ts';
import { startTestServer, useBackends, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, rings, tempDir } from './flighting/fixture.ts';

// The server's real answers, checked against the OpenAPI document made from the contract: every
// route that answers without Kubernetes clusters, and the main writes. The server also checks each
// JSON answer against the zod schemas (validateResponses), so both forms of the contract are held.

interface Operation { responses: Record<string, { content?: Record<string, { schema: object }> }> }
type Doc = { paths: Record<string, Record<string, Operation>>; components: object };

const DOC_FILE = join(import.meta.dirname, '..', '..', '..', 'docs', 'openapi.json');
const backends = useBackends();
const sha = (n: number) => n.toString(16).padStart(40, '0');

/** Validates answers against the document; a mismatch names the route, the status and the field. */
function validator(doc: Doc) {
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'doc', ...doc });
  const compiled = new Map<string, ValidateFunction>();
  return (method: string, path: string, status: number, body: unknown): string | null => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) return `${method} ${path} is not in the document`;
    const key = op.responses[String(status)] ? String(status) : 'default';
    if (key === 'default' && status < 400) return `${method} ${path} answered ${status}, which the document does not declare`;
    if (!op.responses[key]!.content?.['application/json']) return body === undefined || body === '' ? null : `${method} ${path} ${status} has a body the document does not declare`;
    const pointer = ['paths', path, method.toLowerCase(), 'responses', key, 'content', 'application/json', 'schema'].map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
    let validate = compiled.get(pointer);
    if (!validate) compiled.set(pointer, (validate = ajv.compile({ $ref: `doc#/${pointer}` })));
    if (validate(body)) return null;
    const e = validate.errors![0]!;
    return `${method} ${path} ${status}: ${e.instancePath || '(body)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`;
  };
}

describe('the API contract', () => {
  it('docs/openapi.json is current: regenerating it changes nothing (run `npm run gen:openapi` after changing @ringmaster/api)', () => {
    expect(readFileSync(DOC_FILE, 'utf8')).toBe(openApiText());
  });
});

describe('the server answers as its OpenAPI document says', () => {
  let s: TestServer;
  let check: ReturnType<typeof validator>;
  const mismatches: string[] = [];
  const seen = new Set<string>();
  const byUrl = Object.values(routes as Record<string, RouteDef>);

  /** Calls the server and checks the answer against the document's schema for the route and status. */
  const call = async (method: string, url: string, options: Parameters<TestServer['call']>[2] = {}) => {
    const res = await s.call(method, url, options);
    const path = url.split('?')[0]!;
    const route = byUrl.find((r) => r.method === method && new RegExp(`^${fastifyPath(r.path).replace(/:\w+/g, '[^/]+')}$`).test(path)
      && !(r.path.includes('{source}') && path.endsWith('/ticket')));
    if (!route) throw new Error(`no route in the contract for ${method} ${path}`);
    seen.add(`${route.method} ${route.path}`);
    const problem = check(method, route.path, res.status, res.body);
    if (problem) mismatches.push(problem);
    return res;
  };

  beforeAll(async () => {
    const fleet = new FleetRepo('contract', rings({ canaryApproval: 'manual' }).map((r) => ({ ...r, policy: r.policy.replace('approval: auto', 'approval: manual') })));
    fleet.commit('initial');
    s = await startTestServer(await backends.options('sqlite'), {
      settings: { rings: ['dev', 'canary', 'prod'] }, validateResponses: true,
      flighting: { fleetRepo: fleet.dir, manifestRepo: { url: manifestRemote() }, workDir: tempDir('work'), timeScale: 0.1, pollIntervalMs: 50 },
    });
    const res = await s.call('GET', '/api/v1/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(readFileSync(DOC_FILE, 'utf8')));
    check = validator(res.body as Doc);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('declares every route the server has, and the server has every route it declares', async () => {
    // the dashboard's pages and files are not API routes
    expect(s.contract.undeclared.filter((r) => !/^GET \/(\*|favicon\.svg|assets\/\*)?$/.test(r))).toEqual([]);
    for (const r of Object.values(routes as Record<string, RouteDef>)) expect(s.contract.registered, `${r.method} ${r.path}`).toContain(`${r.method} ${fastifyPath(r.path)}`);
  });

  it('answers the operations, journey, admin and dashboard routes as documented', async () => {
    for (const url of ['/healthz', '/readyz', '/api/v1/version', '/api/v1/openapi.json']) expect((await call('GET', url, { token: null })).status).toBe(200);
    const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 10, m)).toISOString();
    expect((await call('POST', '/api/v1/events', { body: { kind: 'commit', app: 'shop', team: 'web', repository: 'acme/shop', commit: sha(1), author: 'ana', authorEmail: 'ana@example.net', branch: 'main', message: 'Add cart', occurredAt: at(0) } })).status).toBe(201);
    expect((await call('POST', '/api/v1/events', { body: { events: [
      { kind: 'build.finished', app: 'shop', commit: sha(1), buildId: 'b1', status: 'succeeded', buildUrl: 'https://ci.example.net/b1', occurredAt: at(1) },
      { kind: 'image.pushed', app: 'shop', commit: sha(1), buildId: 'b1', image: 'registry.example.net/shop:1.1.0', occurredAt: at(2) },
      { kind: 'sync', app: 'shop', ring: 'dev', cluster: 'dev-1', instance: 'shop', status: 'Synced', image: 'registry.example.net/shop:1.1.0', occurredAt: at(3), data: { region: 'eu' } },
      { kind: 'health', app: 'shop', ring: 'dev', cluster: 'dev-1', instance: 'shop', status: 'Healthy', image: 'registry.example.net/shop:1.1.0', occurredAt: at(4) },
    ] } })).status).toBe(201);
    expect((await call('POST', '/api/v1/events', { body: { kind: 'commit', commit: sha(1), idempotencyKey: 'k', occurredAt: at(0) } })).status).toBe(201);
    expect((await call('POST', '/api/v1/events', { body: { kind: 'commit', commit: sha(1), idempotencyKey: 'k', occurredAt: at(0) } })).status).toBe(200);
    expect((await call('POST', '/api/v1/events', { body: { kind: 'commit', commit: 'nope' } })).status).toBe(400);
    expect((await call('GET', '/api/v1/changes', { token: null })).status).toBe(401);

    const from = at(0).replace('.000Z', 'Z');
    for (const url of [
      '/api/v1/changes', `/api/v1/changes/${sha(1)}`, `/api/v1/changes/${sha(1)}/eta`, '/api/v1/fleet', '/api/v1/fleet/summary',
      `/api/v1/contacts?ring=dev&from=${from}`, '/api/v1/dora', '/api/v1/dashboard/me', '/api/v1/dashboard/changes', '/api/v1/dashboard/fleet',
      '/api/v1/dashboard/facets', '/api/v1/dashboard/dora/series?buckets=2', '/api/v1/dashboard/dora/by', '/api/v1/settings', '/api/v1/apps',
      '/api/v1/tokens', '/api/v1/audit', '/api/v1/drift', '/api/v1/requests',
    ]) expect((await call('GET', url)).status, url).toBe(200);
    expect((await call('GET', '/api/v1/changes/ffff')).status).toBe(404);
    expect((await call('GET', '/api/v1/requests/rq-none')).status).toBe(404);

    expect((await call('PUT', '/api/v1/apps/shop', { body: { team: 'web', repositories: ['acme/shop'], contacts: ['#shop'] } })).status).toBe(200);
    expect((await call('PUT', '/api/v1/settings', { body: { notAdoptedAfterMs: 86_400_000 } })).status).toBe(200);
    const token = await call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'deployer', apps: ['shop'] } });
    expect(token.status).toBe(201);
    expect((await call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'deployer' }, token: token.body.token })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/tokens/${token.body.id}`)).status).toBe(204);
  });

  it('answers the release routes as documented', async () => {
    const created = await call('POST', '/api/v1/releases', { body: { revision: 'main', message: 'contract' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    for (const url of ['/api/v1/releases', `/api/v1/releases/${id}`, `/api/v1/releases/${id}/events`]) expect((await call('GET', url)).status, url).toBe(200);
    expect((await call('POST', `/api/v1/releases/${id}/pause`, { body: {} })).status).toBe(200);
    expect((await call('POST', `/api/v1/releases/${id}/resume`, { body: {} })).status).toBe(200);
    expect((await call('POST', `/api/v1/releases/${id}/approve`, { body: { ring: 'prod', comment: 'ahead' } })).status).toBe(200);
    expect((await call('POST', `/api/v1/releases/${id}/abort`, { body: { reason: 'contract test' } })).status).toBe(200);
    expect((await call('GET', '/api/v1/releases/nope')).status).toBe(404);
  });

  it('names the route, status and field of an answer that differs', () => {
    expect(check('GET', '/api/v1/changes', 200, { items: [{ id: 1 }], nextCursor: null })).toMatch(/^GET \/api\/v1\/changes 200: \/items\/0/);
    expect(check('GET', '/api/v1/changes', 200, { items: [], nextCursor: null, more: true })).toMatch(/additional properties.*more/);
  });

  it('found no answer that differs from the document', () => {
    expect(mismatches).toEqual([]);
    expect(seen.size).toBeGreaterThan(30);
  });
});
