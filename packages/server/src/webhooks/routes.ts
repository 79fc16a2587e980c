import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { NotFoundError } from '../errors.ts';
import { parseInput } from '../http/errors.ts';
import { eventInputSchema } from '../ingest/event-schema.ts';
import { githubReceiver } from './github.ts';
import { gitlabReceiver } from './gitlab.ts';
import { azureReceiver, type AzureWebhookAuth } from './azure.ts';
import { fingerprint, type WebhookReceiver } from './receiver.ts';
import { deliveryBody } from './payload.ts';

export interface WebhookSecrets {
  github?: { secret: string };
  gitlab?: { token: string };
  azure?: AzureWebhookAuth;
}

/** POST /api/v1/webhooks/:source: signed deliveries of GitHub, GitLab and Azure DevOps (no token: the signature authenticates). */
export async function registerWebhookRoutes(app: FastifyInstance, plane: Pick<ControlPlane, 'record' | 'metrics'>, secrets: WebhookSecrets = {}): Promise<void> {
  const { metrics } = plane;
  // a Map: a source named `__proto__` or `toString` must find nothing, not Object.prototype's members
  const receivers = new Map<string, WebhookReceiver>();
  if (secrets.github) receivers.set('github', githubReceiver(secrets.github.secret));
  if (secrets.gitlab) receivers.set('gitlab', gitlabReceiver(secrets.gitlab.token));
  if (secrets.azure) receivers.set('azure', azureReceiver(secrets.azure));
  app.post<{ Params: { source: string } }>('/api/v1/webhooks/:source', { config: { role: 'signed' } }, async (req, reply) => {
    const source = req.params.source;
    req.audit = { actor: `webhook:${source}` };
    const receiver = receivers.get(source);
    if (!receiver) throw new NotFoundError(`the ${source} webhook is not configured on this server`);
    const rawBody = req.rawBody ?? Buffer.alloc(0);
    try {
      receiver.verify(req.headers, rawBody);
    } catch (err) {
      metrics.deliveries.inc({ source, result: 'refused' });
      throw err;
    }
    const payload = parseInput(deliveryBody, req.body);
    const deliveryId = receiver.deliveryId(req.headers, payload);
    const inputs = receiver.translate(req.headers, payload).map((ev, i) => parseInput(eventInputSchema, ev, [`translated.${i}`]));
    const result = await plane.record(inputs.map((ev) => ({ ...ev, source, deliveryId })), { source, id: deliveryId, fingerprint: fingerprint(rawBody) });
    metrics.deliveries.inc({ source, result: result.duplicateDelivery ? 'duplicate' : 'stored' });
    req.audit = { actor: `webhook:${source}`, target: `delivery/${deliveryId}`, details: { stored: result.stored, duplicate: result.duplicateDelivery } };
    return reply.status(result.duplicateDelivery ? 200 : 202).send({ delivery: deliveryId, duplicate: result.duplicateDelivery, stored: result.stored });
  });
}
