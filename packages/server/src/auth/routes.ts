import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { parseInput } from '../http/errors.ts';
import * as s from '../http/schemas.ts';
import { createToken, listTokens, revokeToken } from './tokens.ts';
import { listAudit } from './audit.ts';

/** Tokens and the audit trail, under /api/v1 (inside the authenticated scope); an admin's. */
export async function registerAuthRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'storage' | 'auth'>): Promise<void> {
  const { storage, auth } = plane;
  api.post('/tokens', { config: { role: 'admin' } }, async (req, reply) => {
    const body = parseInput(s.tokenBody, req.body);
    req.audit = { target: `token/${body.name}`, details: { role: body.role, apps: body.apps, rings: body.rings } };
    const created = await createToken(storage, { ...body, createdBy: req.principal!.name });
    return reply.status(201).send({ token: created.token, ...created.info });
  });
  api.get('/tokens', { config: { role: 'admin' } }, async () => ({ tokens: await listTokens(storage) }));
  api.delete<{ Params: { id: string } }>('/tokens/:id', { config: { role: 'admin' } }, async (req, reply) => {
    req.audit = { target: `token/${req.params.id}` };
    await revokeToken(storage, req.params.id);
    auth.forget();
    return reply.status(204).send();
  });
  api.get('/audit', { config: { role: 'admin' } }, async (req) => {
    const q = parseInput(s.auditQuery, req.query, ['query']);
    return { entries: await listAudit(storage, q) };
  });
}
