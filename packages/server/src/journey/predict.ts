import type { Storage } from '../storage/storage.ts';
import { NotFoundError } from '../errors.ts';
import type { JourneySettings } from './settings.ts';
import { approvalWaits, type ApprovalWait } from './waits.ts';
import type { RingEta } from '@ringmaster/api';
export type { RingEta };

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx]!;
}

const HISTORY = 200;

/** Rings at or after the one waiting for approval cannot be predicted from lead times: nothing moves until someone approves. */
export function heldBy(wait: ApprovalWait | null | undefined, order: string[], ring: string): ApprovalWait | null {
  if (!wait) return null;
  const at = order.indexOf(wait.ring);
  return at !== -1 && order.indexOf(ring) >= at ? wait : null;
}

/** For an in-flight change: when it should reach each ring it has not reached, from the app's recent history. */
export async function predictChange(storage: Storage, id: string, settings: JourneySettings) {
  const change = await storage.db.selectFrom('changes').select(['id', 'app', 'committed_at', 'status']).where('id', '=', id.toLowerCase()).executeTakeFirst();
  if (!change) throw new NotFoundError(`no change with id "${id}"`);
  const waiting = (await approvalWaits(storage, [change.id])).get(change.id) ?? null;
  const reached = new Set((await storage.db.selectFrom('change_rings').select('ring').where('change_id', '=', change.id).execute()).map((r) => r.ring));
  let rings = settings.rings;
  if (rings.length === 0) {
    // Without a configured order, the rings this app has reached before, ordered by typical lead time.
    const seen = await storage.db.selectFrom('change_rings').select((eb) => ['ring', eb.fn.avg<number>('lead_ms').as('avg')])
      .where('app', change.app === null ? 'is' : '=', change.app as any).groupBy('ring').execute();
    rings = seen.sort((a, b) => Number(a.avg) - Number(b.avg)).map((r) => r.ring);
  }
  const remaining: RingEta[] = [];
  for (const ring of rings.filter((r) => !reached.has(r))) {
    const rows = await storage.db.selectFrom('change_rings').select('lead_ms')
      .where('app', change.app === null ? 'is' : '=', change.app as any).where('ring', '=', ring)
      .orderBy('reached_at', 'desc').limit(HISTORY).execute();
    const sorted = rows.map((r) => r.lead_ms).sort((a, b) => a - b);
    const median = percentile(sorted, 0.5);
    const p90 = percentile(sorted, 0.9);
    const held = heldBy(waiting, rings, ring);
    remaining.push({
      ring, medianMs: median, p90Ms: p90, samples: sorted.length,
      expectedAt: median === null || held ? null : new Date(change.committed_at + median).toISOString(),
      expectedAtP90: p90 === null || held ? null : new Date(change.committed_at + p90).toISOString(),
      waitingFor: held,
    });
  }
  const finished = await storage.db.selectFrom('changes').select('status')
    .where('app', change.app === null ? 'is' : '=', change.app as any).where('status', 'in', ['succeeded', 'failed'])
    .where('id', '!=', change.id).orderBy('committed_at', 'desc').limit(HISTORY).execute();
  const succeeded = finished.filter((r) => r.status === 'succeeded').length;
  return {
    change: change.id, app: change.app, status: change.status, reached: [...reached], remaining, waiting,
    successRate: { rate: finished.length ? succeeded / finished.length : null, succeeded, samples: finished.length },
  };
}

export interface DoraInput {
  app?: string;
  team?: string;
  /** The ring that counts as production; defaults to the last configured ring, else "prod". */
  ring?: string;
  from: number;
  to: number;
}

/** DORA's four keys over a window, aggregated in the database (only one numeric column per metric is read). */
export async function dora(storage: Storage, input: DoraInput, settings: JourneySettings) {
  const ring = input.ring ?? settings.rings[settings.rings.length - 1] ?? 'prod';
  const deployed = () => {
    let q = storage.db.selectFrom('change_rings')
      .where('ring', '=', ring).where('reached_at', '>=', input.from).where('reached_at', '<', input.to);
    if (input.app) q = q.where('app', '=', input.app);
    if (input.team) q = q.where('team', '=', input.team);
    return q;
  };
  const totals = await deployed().select((eb) => [
    eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('failed').as('failed'),
  ]).executeTakeFirstOrThrow();
  const n = Number(totals.n);
  const failed = Number(totals.failed ?? 0);
  // Percentiles by rank, computed in the database (portable window function), so no rows travel.
  const rankOf = (p: number) => Math.min(n, Math.max(1, Math.ceil(p * n)));
  const ranks = n > 0 ? [rankOf(0.5), rankOf(0.9)] : [];
  const ranked = ranks.length === 0 ? [] : await storage.db
    .selectFrom(deployed().select((eb) => ['lead_ms', eb.fn.agg<number>('row_number', []).over((ob) => ob.orderBy('lead_ms')).as('rn')]).as('r'))
    .select(['r.lead_ms', 'r.rn']).where('r.rn', 'in', ranks).execute();
  const at = (rank: number | undefined) => (rank === undefined ? null : Number(ranked.find((r) => Number(r.rn) === rank)?.lead_ms ?? null));
  const leadMedian = at(ranks[0]);
  const leadP90 = at(ranks[1]);

  let iq = storage.db.selectFrom('incidents').select(['started_at', 'restored_at'])
    .where('started_at', '>=', input.from).where('started_at', '<', input.to).where('ring', '=', ring);
  if (input.app) iq = iq.where('app', '=', input.app);
  if (input.team) iq = iq.where('team', '=', input.team);
  const incidents = await iq.execute();
  const restores = incidents.filter((i) => i.restored_at !== null).map((i) => i.restored_at! - i.started_at).sort((a, b) => a - b);
  const days = (input.to - input.from) / 86_400_000;
  return {
    app: input.app ?? null, team: input.team ?? null, ring,
    window: { from: new Date(input.from).toISOString(), to: new Date(input.to).toISOString(), days },
    deploymentFrequency: { deployments: n, perDay: days > 0 ? n / days : null },
    leadTime: { medianMs: leadMedian, p90Ms: leadP90, samples: n },
    changeFailureRate: { failed, deployments: n, rate: n ? failed / n : null },
    timeToRestore: { medianMs: percentile(restores, 0.5), p90Ms: percentile(restores, 0.9), samples: restores.length, open: incidents.length - restores.length },
  };
}
