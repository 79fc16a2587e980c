import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { parseInput } from '../http/errors.ts';
import * as s from '../http/schemas.ts';
import { fleetSummary, listFleet } from './queries.ts';

/** What runs where, under /api/v1 (inside the authenticated scope). */
export async function registerFleetRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'storage'>): Promise<void> {
  const { storage } = plane;
  api.get('/fleet', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(s.fleetQuery, req.query, ['query']);
    return listFleet(storage, q, { limit: q.limit, cursor: q.cursor });
  });
  api.get('/fleet/summary', { config: { role: 'viewer' } }, async (req) => {
    return { clusters: await fleetSummary(storage, parseInput(s.fleetSummaryQuery, req.query, ['query'])) };
  });
}
