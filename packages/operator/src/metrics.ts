import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The operator's Prometheus metrics (one registry per operator, so two in one process do not mix). */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly writes = new Counter({ name: 'ringmaster_operator_writes_total', help: 'Writes to the API server, by kind and verb', labelNames: ['kind', 'verb'], registers: [this.registry] });
  readonly reconciles = new Counter({ name: 'ringmaster_operator_reconciles_total', help: 'Reconciles of AppClusters, by result', labelNames: ['result'], registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({ name: 'ringmaster_operator_reconcile_duration_seconds', help: 'Duration of one reconcile', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'ringmaster_operator_queue_depth', help: 'AppClusters waiting in the work queue', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'ringmaster_operator_leader', help: '1 while this process holds the Lease', registers: [this.registry] });
  readonly operations = new Counter({ name: 'ringmaster_operator_operations_total', help: 'NodeOperations finished, by type and phase', labelNames: ['type', 'phase'], registers: [this.registry] });

  /** Total writes so far (all kinds and verbs). */
  async totalWrites(): Promise<number> {
    const m = await this.writes.get();
    return m.values.reduce((s, v) => s + v.value, 0);
  }
}
