import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { InputError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import * as s from '../http/schemas.ts';
import { contacts, getChange, listChanges } from './queries.ts';
import { dora, predictChange } from './predict.ts';

const DAY = 86_400_000;

/** Changes and their journeys, predictions, contacts and DORA under /api/v1 (inside the authenticated scope). */
export async function registerChangeRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'storage' | 'settings'>): Promise<void> {
  const { storage, settings } = plane;
  api.get('/changes', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(s.changesQuery, req.query, ['query']);
    return listChanges(storage, q, { limit: q.limit, cursor: q.cursor }, { notAdoptedAfterMs: (await settings.current()).notAdoptedAfterMs });
  });
  api.get<{ Params: { id: string } }>('/changes/:id', { config: { role: 'viewer' } }, async (req) => {
    return getChange(storage, req.params.id, { notAdoptedAfterMs: (await settings.current()).notAdoptedAfterMs });
  });
  api.get<{ Params: { id: string } }>('/changes/:id/eta', { config: { role: 'viewer' } }, async (req) => {
    return predictChange(storage, req.params.id, await settings.current());
  });
  api.get('/contacts', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(s.contactsQuery, req.query, ['query']);
    return { ring: q.ring, contacts: await contacts(storage, { ring: q.ring, from: q.from, to: q.to ?? Date.now(), limit: q.limit }) };
  });
  api.get('/dora', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(s.doraQuery, req.query, ['query']);
    if (q.app && q.team) throw new InputError('give either app or team, not both', 'query.team');
    const to = q.to ?? Date.now();
    const from = q.from ?? to - 30 * DAY;
    if (from >= to) throw new InputError('from must be before to', 'query.from');
    return dora(storage, { app: q.app, team: q.team, ring: q.ring, from, to }, await settings.current());
  });
}
