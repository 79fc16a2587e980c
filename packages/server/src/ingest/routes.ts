import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { authorizeEvents } from '../auth/event-scope.ts';
import { parseInput } from '../http/errors.ts';
import { eventBatchSchema, eventInputSchema, type EventInput } from './event-schema.ts';

/** POST /events under /api/v1 (inside the authenticated scope): one event or a batch. */
export async function registerEventRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'storage' | 'record'>): Promise<void> {
  // every app and ring each event names must be in the token's scope: checked once the events are read (authorizeEvents)
  api.post('/events', { config: { role: 'deployer' } }, async (req, reply) => {
    const body = req.body;
    const inputs: EventInput[] = body && typeof body === 'object' && !Array.isArray(body) && 'events' in body
      ? parseInput(eventBatchSchema, body).events
      : [parseInput(eventInputSchema, body)];
    await authorizeEvents(plane.storage.db, req.principal!, inputs);
    const result = await plane.record(inputs.map((ev) => ({ ...ev, source: 'api' })));
    req.audit = { target: `events(${inputs.length})`, details: { stored: result.stored, duplicates: result.duplicates } };
    return reply.status(result.stored > 0 ? 201 : 200).send({ stored: result.stored, duplicates: result.duplicates, events: result.events });
  });
}
