import { isTerminal, API_VERSION, type NodeOperation } from '@ringmaster/operator';
import type { Flighting } from '../flighting/routes.ts';
import { eventInputSchema, type EventInput } from '../ingest/event-schema.ts';
import { clientOf, type InstanceTarget } from './cluster.ts';

const FOLLOW_FOR_MS = 6 * 3600_000;

/** Puts NodeOperations on their instance's journey: created and approved here, then each phase they are seen in until they finish. */
export class OperationJourney {
  private readonly followers = new Map<string, { timer?: NodeJS.Timeout; phase: string }>();
  private closed = false;

  /** `followMs`: how often followed operations are read (default 1000). */
  constructor(private readonly f: Flighting, private readonly followMs = 1000) {}

  /** Records one step of an operation on the instance's journey (a failure to record is logged, never thrown). */
  async record(t: InstanceTarget, op: NodeOperation, status: string, by: string | undefined, extra: Record<string, unknown> = {}): Promise<void> {
    const ev: EventInput = eventInputSchema.parse({
      kind: 'operation', status, cluster: t.cluster, instance: t.instance, app: t.app, ...(t.ring ? { ring: t.ring } : {}), release: t.release,
      ...(by ? { author: by } : {}),
      idempotencyKey: `operation/${t.cluster}/${t.namespace}/${op.metadata.name}/${op.metadata.uid ?? ''}/${status}`,
      message: `${op.spec.type}${op.spec.node ? ` ${op.spec.node}` : ''} on AppCluster ${op.spec.appCluster}: ${status}${op.status?.reason ? ` (${op.status.reason})` : ''}`,
      data: { operation: op.metadata.name, namespace: t.namespace, type: op.spec.type, ...(op.spec.node ? { node: op.spec.node } : {}), ...(op.spec.image ? { image: op.spec.image } : {}), ...(op.status?.reason ? { reason: op.status.reason } : {}), ...(op.status?.message ? { detail: op.status.message } : {}), ...extra },
    });
    await this.f.ctx.record([ev]).catch((err: unknown) => this.f.ctx.log.warn({ err: (err as Error).message }, 'operations: recording on the journey failed'));
  }

  /** Follows an operation created or approved here until it finishes, recording each phase it is seen in on the journey. */
  follow(t: InstanceTarget, op: NodeOperation): void {
    const key = `${t.cluster}\0${t.namespace}\0${op.metadata.name}`;
    if (this.followers.has(key) || this.closed) return;
    const w: { timer?: NodeJS.Timeout; phase: string } = { phase: op.status?.phase ?? 'created' };
    this.followers.set(key, w);
    const until = Date.now() + FOLLOW_FOR_MS;
    const tick = async () => {
      if (await this.look(t, op, w, key, until)) return;
      if (!this.closed) w.timer = setTimeout(() => void tick(), this.followMs);
    };
    w.timer = setTimeout(() => void tick(), this.followMs);
  }

  /** One look at a followed operation; true when following it ends. */
  private async look(t: InstanceTarget, op: NodeOperation, w: { phase: string }, key: string, until: number): Promise<boolean> {
    try {
      const client = clientOf(this.f, t);
      const cur = (await client.get({ apiVersion: API_VERSION, kind: 'NodeOperation', namespace: t.namespace, name: op.metadata.name! })) as NodeOperation | undefined;
      if (!cur || cur.metadata.uid !== op.metadata.uid) {
        this.followers.delete(key);
        return true;
      }
      const phase = cur.status?.phase;
      if (phase && phase !== w.phase && phase !== 'Pending') {
        w.phase = phase;
        await this.record(t, cur, phase, undefined, cur.status?.progress ? { progress: cur.status.progress } : {});
      }
      if (isTerminal(cur) || Date.now() > until) {
        this.followers.delete(key);
        return true;
      }
    } catch {
      // the cluster is away for a moment: try again at the next tick
    }
    return false;
  }

  /** Stops following (the server closes). */
  close(): void {
    this.closed = true;
    for (const w of this.followers.values()) clearTimeout(w.timer);
    this.followers.clear();
  }
}
