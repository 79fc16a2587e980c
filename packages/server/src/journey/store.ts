import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.ts';

/** The journey's read-side SQL for the changes board: per-change aggregates, computed in the database. */
export class JourneyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Per change, kind, repository and status: the first and last time, and the links and refs its events carry. */
  boardStages(ids: string[]) {
    return this.db.selectFrom('event_changes as ec').innerJoin('events as e', 'e.id', 'ec.event_id')
      .select((eb) => [
        'ec.change_id', 'e.kind', 'e.repository', 'e.status',
        eb.fn.min<number>('e.occurred_at').as('first'), eb.fn.max<number>('e.occurred_at').as('last'),
        eb.fn.max<string>('e.url').as('url'), eb.fn.max<string>('e.build_url').as('build_url'),
        eb.fn.max<string>('e.commit_sha').as('commit'), eb.fn.max<string>('e.release_id').as('release'),
      ])
      .where('ec.change_id', 'in', ids)
      .where('e.kind', 'in', ['commit', 'pr.merged', 'build.started', 'build.finished', 'image.pushed', 'release'])
      .groupBy(['ec.change_id', 'e.kind', 'e.repository', 'e.status'])
      .execute();
  }

  /** Per change and ring: how many targets, and how many are synced, healthy, failed, rolled back, waiting, not reached. */
  boardTargets(ids: string[]) {
    return this.db.selectFrom('change_targets')
      .select((eb) => [
        'change_id', 'ring', eb.fn.countAll<number>().as('targets'),
        eb.fn.sum<number>(eb.case().when('synced_at', 'is not', null).then(1).else(0).end()).as('synced'),
        eb.fn.sum<number>(eb.case().when('state', '=', 'healthy').then(1).else(0).end()).as('healthy'),
        eb.fn.sum<number>(eb.case().when('state', 'in', ['degraded', 'failed', 'rolled_back', 'aborted']).then(1).else(0).end()).as('failed'),
        eb.fn.sum<number>(eb.case().when('state', '=', 'rolled_back').then(1).else(0).end()).as('rolled_back'),
        eb.fn.sum<number>(eb.case().when('state', '=', 'waiting').then(1).else(0).end()).as('waiting'),
        eb.fn.sum<number>(eb.case().when('state', '=', 'not_reached').then(1).else(0).end()).as('not_reached'),
        eb.fn.max<number>('healthy_at').as('last_healthy'),
      ])
      .where('change_id', 'in', ids)
      .groupBy(['change_id', 'ring'])
      .execute();
  }

  /** Ring-level promotion steps (no cluster), oldest first: the latest says whether the ring waits for approval. */
  ringGates(ids: string[]) {
    return this.db.selectFrom('event_changes as ec').innerJoin('events as e', 'e.id', 'ec.event_id')
      .select(['ec.change_id', 'e.ring', 'e.status', 'e.occurred_at', 'e.id'])
      .where('ec.change_id', 'in', ids).where('e.kind', '=', 'promotion.step').where('e.cluster', 'is', null)
      .orderBy('e.occurred_at').orderBy('e.id')
      .execute();
  }

  /** The latest `limit` lead times (ms) of an app (null: changes without one) to a ring, sorted ascending. */
  async leadTimes(app: string | null, ring: string, limit: number): Promise<number[]> {
    let q = this.db.selectFrom('change_rings').select('lead_ms').where('ring', '=', ring);
    q = app === null ? q.where('app', 'is', null) : q.where('app', '=', app);
    const rows = await q.orderBy('reached_at', 'desc').limit(limit).execute();
    return rows.map((h) => Number(h.lead_ms)).sort((a, b) => a - b);
  }
}
