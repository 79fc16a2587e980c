import type { Storage } from '../storage/storage.ts';
import { NotFoundError } from '../errors.ts';
import type { JourneySettings } from './settings.ts';

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[idx]!;
}

const HISTORY = 200;

export interface RingEta {
  ring: string;
  /** Median and 90th percentile of past lead times (commit → ring healthy) for this app and ring. */
  medianMs: number | null;
  p90Ms: number | null;
  samples: number;
  expectedAt: string | null;
  expectedAtP90: string | null;
}

/** For an in-flight change: when it should reach each ring it has not reached, from the app's recent history. */
export async function predictChange(storage: Storage, id: string, settings: JourneySettings) {
  const change = await storage.db.selectFrom('changes').select(['id', 'app', 'committed_at', 'status']).where('id', '=', id.toLowerCase()).executeTakeFirst();
  if (!change) throw new NotFoundError(`no change with id "${id}"`);
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
    remaining.push({
      ring, medianMs: median, p90Ms: p90, samples: sorted.length,
      expectedAt: median === null ? null : new Date(change.committed_at + median).toISOString(),
      expectedAtP90: p90 === null ? null : new Date(change.committed_at + p90).toISOString(),
    });
  }
  const finished = await storage.db.selectFrom('changes').select('status')
    .where('app', change.app === null ? 'is' : '=', change.app as any).where('status', 'in', ['succeeded', 'failed'])
    .where('id', '!=', change.id).orderBy('committed_at', 'desc').limit(HISTORY).execute();
  const succeeded = finished.filter((r) => r.status === 'succeeded').length;
  return {
    change: change.id, app: change.app, status: change.status, reached: [...reached], remaining,
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
  let q = storage.db.selectFrom('change_rings as cr').innerJoin('changes as c', 'c.id', 'cr.change_id')
    .select(['cr.lead_ms', 'c.failed_at'])
    .where('cr.ring', '=', ring).where('cr.reached_at', '>=', input.from).where('cr.reached_at', '<', input.to);
  if (input.app) q = q.where('cr.app', '=', input.app);
  if (input.team) q = q.where('cr.team', '=', input.team);
  const deployments = await q.execute();
  const leads = deployments.map((d) => d.lead_ms).sort((a, b) => a - b);
  const failed = deployments.filter((d) => d.failed_at !== null).length;

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
    deploymentFrequency: { deployments: deployments.length, perDay: days > 0 ? deployments.length / days : null },
    leadTime: { medianMs: percentile(leads, 0.5), p90Ms: percentile(leads, 0.9), samples: leads.length },
    changeFailureRate: { failed, deployments: deployments.length, rate: deployments.length ? failed / deployments.length : null },
    timeToRestore: { medianMs: percentile(restores, 0.5), p90Ms: percentile(restores, 0.9), samples: restores.length, open: incidents.length - restores.length },
  };
}
