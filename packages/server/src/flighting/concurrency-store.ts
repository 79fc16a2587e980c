import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.ts';
import { TERMINAL_STATES } from './model.ts';
import { waitsFor, type ActiveRelease } from './concurrency.ts';
import type { NewRing } from './store.ts';

// The SQL of concurrent releases: which releases are active and what they change, and the steps other releases have in flight.

/** Every release not in a terminal state, with the apps its plan changes. */
export async function activeReleases(db: Kysely<Database>): Promise<ActiveRelease[]> {
  const rows = await db.selectFrom('releases').select(['id', 'created_at', 'state', 'phase', 'summary']).where('state', 'not in', [...TERMINAL_STATES]).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, createdAt: r.created_at, state: r.state, phase: r.phase, apps: (JSON.parse(r.summary) as { apps?: string[] }).apps ?? [] }));
}

/** Other releases' cluster steps in flight (delivery and rollback), per ring. */
export async function inFlightElsewhere(db: Kysely<Database>, id: string): Promise<Record<string, number>> {
  const rows = await db.selectFrom('release_steps').select(['ring']).select((eb) => eb.fn.countAll<number>().as('n'))
    .where('release_id', '!=', id).where('state', '=', 'in_progress').groupBy('ring').execute();
  return Object.fromEntries(rows.map((r) => [r.ring, Number(r.n)]));
}

/** Marks releases to stop at their next clean boundary in favour of a newer one. */
export async function markSuperseded(db: Kysely<Database>, ids: string[], by: string, now: number): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('releases').set({ superseded_by: by, updated_at: now }).where('id', 'in', ids).execute();
}

/** Replaces a queued release's plan (rings, waves, steps, summary) with one made against what is delivered now, and makes it pending: one transaction. */
export async function replan(db: Kysely<Database>, id: string, summary: string, rings: NewRing[], now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const t of ['release_steps', 'release_waves', 'release_rings'] as const) await trx.deleteFrom(t).where('release_id', '=', id).execute();
    for (const ring of rings) {
      await trx.insertInto('release_rings').values(ring.row).execute();
      for (const wave of ring.waves) {
        await trx.insertInto('release_waves').values(wave.row).execute();
        for (let i = 0; i < wave.steps.length; i += 200) await trx.insertInto('release_steps').values(wave.steps.slice(i, i + 200)).execute();
      }
    }
    await trx.updateTable('releases').set({ state: 'pending', summary, updated_at: now }).where('id', '=', id).where('state', '=', 'queued').execute();
  });
}

/** What a release's snapshot adds for concurrency: the earlier overlapping releases it waits for, and the other releases' steps in flight per ring. */
export async function concurrencyFacts(db: Kysely<Database>, rel: { id: string; createdAt: number; summary: { apps: string[] } }): Promise<{ waitsFor: string[]; inFlightElsewhere: Record<string, number> }> {
  const [active, elsewhere] = await Promise.all([activeReleases(db), inFlightElsewhere(db, rel.id)]);
  return { waitsFor: waitsFor({ id: rel.id, createdAt: rel.createdAt, apps: rel.summary.apps }, active), inFlightElsewhere: elsewhere };
}
