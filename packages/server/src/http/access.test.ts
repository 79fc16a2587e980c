import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, createToken, TokenAuthenticator, type RingmasterServer } from '../index.ts';
import { toHttpError } from './errors.ts';
import { registerAccessHook } from './access.ts';
import { installContract } from './contract.ts';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// the only routes that authenticate by a signature over their body instead of a token
const SIGNED = ['POST /api/v1/webhooks/:source', 'POST /api/v1/webhooks/ticket'];
const PUBLIC = ['GET /api/v1/version', 'HEAD /api/v1/version'];

describe('route-declared roles', () => {
  let dir: string;
  let server: RingmasterServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringmaster-routes-'));
    server = await createServer({ dataDir: dir, logLevel: false });
    await server.app.ready();
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('declares a role on every POST, PUT, PATCH and DELETE; only the signed webhooks declare a signature instead', () => {
    const mutating = server.routes.filter((r) => MUTATING.has(r.method));
    expect(mutating.length).toBeGreaterThan(20);
    const undeclared = mutating.filter((r) => !r.role).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    const signed = mutating.filter((r) => r.role === 'signed').map((r) => `${r.method} ${r.url}`).sort();
    expect(signed).toEqual([...SIGNED].sort());
  });

  it('declares a token role on every API route, reads included (the hook refuses a route that declares none)', () => {
    const api = server.routes.filter((r) => r.url.startsWith('/api/v1/') && !SIGNED.includes(`${r.method} ${r.url}`) && !PUBLIC.includes(`${r.method} ${r.url}`));
    expect(api.length).toBeGreaterThan(40);
    expect(api.filter((r) => !r.role || r.role === 'signed').map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('checks the scope of calls on one instance or request in the hook, from the route', () => {
    const scoped = server.routes.filter((r) => r.scoped).map((r) => `${r.method} ${r.url}`);
    expect(scoped).toEqual(expect.arrayContaining([
      'POST /api/v1/drift/:instance/heal', 'POST /api/v1/drift/:instance/adopt', 'GET /api/v1/requests/:id', 'GET /api/v1/requests/:id/logs',
      'POST /api/v1/instances/:instance/operations', 'POST /api/v1/instances/:instance/operations/:name/approve', 'GET /api/v1/instances/:instance/nodes',
    ]));
  });

  it('refuses a call without a token before the route runs, and a viewer on a deployer route', async () => {
    const anonymous = await server.app.inject({ method: 'POST', url: '/api/v1/releases', payload: { revision: 'main' } });
    expect(anonymous.statusCode).toBe(401);
    const { token } = await createToken(server.storage, { name: 'routes-viewer', role: 'viewer' });
    const viewer = await server.app.inject({ method: 'POST', url: '/api/v1/releases', payload: { revision: 'main' }, headers: { authorization: `Bearer ${token}` } });
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json()).toMatchObject({ error: { code: 'RINGMASTER_FORBIDDEN' } });
  });

  it('refuses every caller, an admin too, on a route that declares no role', async () => {
    const app = Fastify({ logger: false });
    app.setErrorHandler((err, _req, reply) => {
      const { status, body } = toHttpError(err);
      void reply.status(status).send(body);
    });
    await app.register(async (api) => {
      registerAccessHook(api, new TokenAuthenticator(server.storage));
      api.post('/undeclared', async () => ({ ran: true }));
      api.post('/declared', { config: { role: 'admin' } }, async () => ({ ran: true }));
    });
    const { token } = await createToken(server.storage, { name: 'routes-admin', role: 'admin' });
    const headers = { authorization: `Bearer ${token}` };
    try {
      const undeclared = await app.inject({ method: 'POST', url: '/undeclared', headers });
      expect(undeclared.statusCode).toBe(403);
      expect(undeclared.json().error.message).toMatch(/declares no role/);
      expect((await app.inject({ method: 'POST', url: '/declared', headers })).json()).toEqual({ ran: true });
    } finally {
      await app.close();
    }
  });

  it("takes a route's role from the contract: a route that declares another role than the contract's does not start", async () => {
    for (const [role, starts] of [['viewer', true], ['admin', false]] as const) {
      const app = Fastify({ logger: false });
      installContract(app, {});
      const register = () => app.get('/api/v1/changes', { config: { role } }, async () => ({ items: [] }));
      try {
        if (starts) register();
        else expect(register).toThrow('contract: GET /api/v1/changes declares role admin, the contract says viewer');
        await app.ready();
      } finally {
        await app.close().catch(() => undefined);
      }
    }
  });
});
