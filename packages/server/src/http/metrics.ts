import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server, so several servers in one process (tests) do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ringmaster_' });
  return {
    registry,
    requests: new Counter({ name: 'ringmaster_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    duration: new Histogram({
      name: 'ringmaster_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
    }),
    events: new Counter({ name: 'ringmaster_events_ingested_total', help: 'Journey events stored', labelNames: ['kind', 'source'], registers: [registry] }),
    deliveries: new Counter({ name: 'ringmaster_webhook_deliveries_total', help: 'Webhook deliveries by result', labelNames: ['source', 'result'], registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
