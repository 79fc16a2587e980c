import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { SERVER_VERSION } from './contract.ts';

/** Liveness, readiness, the version and Prometheus metrics: no token, nothing that changes state. */
export async function registerHealthRoutes(app: FastifyInstance, plane: Pick<ControlPlane, 'storage' | 'metrics'>): Promise<void> {
  const { storage, metrics } = plane;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/api/v1/version', async () => ({ version: SERVER_VERSION }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await storage.db.selectFrom('settings').select('key').limit(1).execute();
      return { status: 'ready', database: storage.dialect };
    } catch {
      return reply.status(503).send({ error: { code: 'RINGMASTER_STORAGE', message: 'the database does not answer' } });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
