import type { Kysely } from 'kysely';
import type { EventInput } from '../ingest/event-schema.ts';
import type { Database } from '../storage/schema.ts';
import { ForbiddenError } from '../errors.ts';
import { isScoped, requireScopes, type Principal, type Scope } from './roles.ts';

/**
 * What an event touches, for the scope check: the app and ring it names, and — because a caller may
 * leave them out or name others — the ring its cluster is known to be in and the app its instance is
 * known to run (from the fleet state and what Ringmaster delivered).
 */
async function targetsOf(db: Kysely<Database>, ev: EventInput): Promise<Scope[]> {
  const apps = new Set<string>(ev.app ? [ev.app] : []);
  const rings = new Set<string>(ev.ring ? [ev.ring] : []);
  if (ev.cluster) {
    const instance = ev.instance ?? ev.app;
    const [clusterRings, held, delivered] = await Promise.all([
      db.selectFrom('fleet_state').select('ring').distinct().where('cluster', '=', ev.cluster).where('ring', 'is not', null).execute(),
      instance ? db.selectFrom('fleet_state').select('app').where('cluster', '=', ev.cluster).where('instance', '=', instance).executeTakeFirst() : undefined,
      instance ? db.selectFrom('delivered').select('app').where('cluster', '=', ev.cluster).where('instance', '=', instance).executeTakeFirst() : undefined,
    ]);
    for (const r of clusterRings) rings.add(r.ring!);
    if (held?.app) apps.add(held.app);
    if (delivered?.app) apps.add(delivered.app);
  }
  const out: Scope[] = [];
  for (const app of apps.size ? apps : [null]) for (const ring of rings.size ? rings : [null]) out.push({ app, ring });
  return out;
}

/**
 * Checks that the principal may post these events: role `deployer`, and every app and ring each
 * event touches inside its scope. A scoped token must name the ring of a cluster Ringmaster does not
 * know yet (otherwise it could report on a cluster of a ring it has no right to).
 */
export async function authorizeEvents(db: Kysely<Database>, principal: Principal, events: EventInput[]): Promise<void> {
  requireScopes(principal, 'deployer', []);
  if (!isScoped(principal)) return;
  for (const [i, ev] of events.entries()) {
    const targets = await targetsOf(db, ev);
    if (ev.cluster && principal.rings.length && targets.every((t) => !t.ring)) {
      throw new ForbiddenError(`event ${i}: token "${principal.name}" is scoped to rings (${principal.rings.join(', ')}) and the ring of cluster "${ev.cluster}" is not known; name it with "ring"`);
    }
    requireScopes(principal, 'deployer', targets);
  }
}
