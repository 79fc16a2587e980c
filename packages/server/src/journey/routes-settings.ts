import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { parseInput } from '../http/errors.ts';
import * as s from '../http/schemas.ts';

/** The journey's settings, under /api/v1 (inside the authenticated scope). */
export async function registerSettingsRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'settings'>): Promise<void> {
  api.get('/settings', { config: { role: 'viewer' } }, async () => plane.settings.current());
  api.put('/settings', { config: { role: 'admin' } }, async (req) => {
    const body = parseInput(s.settingsBody, req.body);
    req.audit = { target: 'settings', details: body };
    return plane.settings.update(body);
  });
}
