import type { FastifyInstance } from 'fastify';
import { notificationsQuery } from '@ringmaster/api';
import { NotFoundError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import type { Notifier } from './notifier.ts';

/** GET /api/v1/notifications: the delivery log of notifications out (register inside the authenticated scope). */
export async function registerNotificationRoutes(api: FastifyInstance, notifier: Notifier | undefined): Promise<void> {
  api.get('/notifications', { config: { role: 'viewer' } }, async (req) => {
    if (!notifier) throw new NotFoundError('notifications run with flighting, which is not configured on this server (see docs/flighting.md)');
    const q = parseInput(notificationsQuery, req.query, ['query']);
    return { deliveries: await notifier.deliveries(q) };
  });
}
