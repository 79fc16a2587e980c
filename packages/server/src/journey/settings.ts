import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.ts';

/** What the journey needs to know about the fleet: which repositories are special and the ring order. */
export interface JourneySettings {
  /** Repository name (as events and webhooks name it) of the fleet repo. */
  fleetRepository?: string;
  /** Repository name of the manifest repo Ringmaster writes into. */
  manifestRepository?: string;
  /** Rings in promotion order; reaching the last one healthy completes a change. */
  rings: string[];
  /**
   * How long after its last event a source commit may wait for the fleet to adopt it (a fleet change or
   * a release naming its image) before it reads "not adopted" instead of "in progress"; default NOT_ADOPTED_AFTER_MS.
   */
  notAdoptedAfterMs?: number;
}

/** A week: long enough for a change that waits over a weekend, short enough that the board stops pretending. */
export const NOT_ADOPTED_AFTER_MS = 7 * 86_400_000;

const KEY = 'journey';

export async function loadSettings(db: Kysely<Database>): Promise<JourneySettings> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', KEY).executeTakeFirst();
  if (!row) return { rings: [] };
  const parsed = JSON.parse(row.value) as Partial<JourneySettings>;
  return {
    fleetRepository: parsed.fleetRepository, manifestRepository: parsed.manifestRepository, rings: parsed.rings ?? [],
    ...(typeof parsed.notAdoptedAfterMs === 'number' ? { notAdoptedAfterMs: parsed.notAdoptedAfterMs } : {}),
  };
}

export async function saveSettings(db: Kysely<Database>, settings: JourneySettings): Promise<void> {
  const value = JSON.stringify(settings);
  await db.insertInto('settings').values({ key: KEY, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
}
