import { doraByQuery, doraSeriesQuery, fleetMatrixQuery } from '@ringmaster/api';
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { InputError } from '../errors.ts';
import { dora } from '../journey/predict.ts';
import { changesBoard, facets, fleetMatrix, loadRegions } from '../journey/dashboard-queries.ts';
import { parseInput } from './errors.ts';
import { changesQuery } from './schemas.ts';

const DAY = 86_400_000;

/** Read-only aggregations the dashboard's views need, under /api/v1/dashboard. */
export async function registerDashboardRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'storage' | 'settings'>): Promise<void> {
  const { storage } = plane;
  // one small table (journey/clusters.ts), kept current by the recorder and each release: no cache to go stale
  const currentRegions = () => loadRegions(storage);
  const timeWindow = (q: { from?: number; to?: number }) => {
    const to = q.to ?? Date.now();
    const from = q.from ?? to - 30 * DAY;
    if (from >= to) throw new InputError('from must be before to', 'query.from');
    return { from, to };
  };

  api.get('/dashboard/me', { config: { role: 'viewer' } }, async (req) => {
    const p = req.principal!;
    return { name: p.name, role: p.role, apps: p.apps, rings: p.rings };
  });

  api.get('/dashboard/changes', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(changesQuery, req.query, ['query']);
    return changesBoard(storage, await plane.settings.current(), q, { limit: q.limit, cursor: q.cursor });
  });

  api.get('/dashboard/fleet', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(fleetMatrixQuery, req.query, ['query']);
    const r = await currentRegions();
    return fleetMatrix(storage, await plane.settings.current(), (c) => r.get(c) ?? null, q, { offset: q.offset, limit: q.limit });
  });

  api.get('/dashboard/facets', { config: { role: 'viewer' } }, async () => {
    const r = await currentRegions();
    return facets(storage, await plane.settings.current(), [...new Set(r.values())].sort());
  });

  // DORA over consecutive buckets of the window (for charts), plus the whole window.
  api.get('/dashboard/dora/series', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(doraSeriesQuery, req.query, ['query']);
    if (q.app && q.team) throw new InputError('give either app or team, not both', 'query.team');
    const { from, to } = timeWindow(q);
    const settings = await plane.settings.current();
    const step = (to - from) / q.buckets;
    const scope = { app: q.app, team: q.team, ring: q.ring };
    const [total, ...buckets] = await Promise.all([
      dora(storage, { ...scope, from, to }, settings),
      ...Array.from({ length: q.buckets }, (_, i) => dora(storage, { ...scope, from: Math.round(from + i * step), to: Math.round(from + (i + 1) * step) }, settings)),
    ]);
    return { total, buckets };
  });

  // DORA side by side for every app (or team) that deployed in the window.
  api.get('/dashboard/dora/by', { config: { role: 'viewer' } }, async (req) => {
    const q = parseInput(doraByQuery, req.query, ['query']);
    const { from, to } = timeWindow(q);
    const settings = await plane.settings.current();
    const ring = q.ring ?? settings.rings[settings.rings.length - 1] ?? 'prod';
    const column = q.by === 'app' ? 'app' : 'team';
    const names = await storage.db.selectFrom('change_rings').select(column).distinct()
      .where('ring', '=', ring).where('reached_at', '>=', from).where('reached_at', '<', to).where(column, 'is not', null)
      .orderBy(column).limit(50).execute();
    const items = await Promise.all(names.map((n) => dora(storage, { [column]: (n as Record<string, string>)[column], ring, from, to }, settings)));
    return { by: q.by, ring, items };
  });
}
