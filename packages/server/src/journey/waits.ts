import type { Storage } from '../storage/storage.ts';
import { TERMINAL_STATES } from '@ringmaster/api';
import type { ApprovalWait } from '@ringmaster/api';
export type { ApprovalWait };

/** Release-level outcomes after which nothing waits any more. */
const RELEASE_ENDED: ReadonlySet<string> = new Set(TERMINAL_STATES);

/**
 * For each change, the approval its release waits for now, read from the promotion steps the engine
 * reports on the change's timeline: a ring's latest ring-level step is "waiting" and the release has
 * not ended since. One query for a page of changes.
 */
export async function approvalWaits(storage: Storage, ids: string[]): Promise<Map<string, ApprovalWait>> {
  const out = new Map<string, ApprovalWait>();
  if (ids.length === 0) return out;
  const rows = await storage.db.selectFrom('event_changes as ec').innerJoin('events as e', 'e.id', 'ec.event_id')
    .select(['ec.change_id', 'e.kind', 'e.release_id', 'e.ring', 'e.status', 'e.occurred_at'])
    .where('ec.change_id', 'in', ids).where('e.cluster', 'is', null)
    .where((eb) => eb.or([eb('e.kind', '=', 'promotion.step'), eb.and([eb('e.kind', '=', 'release'), eb('e.status', 'in', [...RELEASE_ENDED])])]))
    .orderBy('e.occurred_at').orderBy('e.id').execute();
  // per change and release: the latest step of each ring, and whether the release ended
  const state = new Map<string, { ended: boolean; rings: Map<string, { status: string; at: number }> }>();
  for (const r of rows) {
    if (!r.release_id) continue;
    const key = `${r.change_id}\u0000${r.release_id}`;
    let s = state.get(key);
    if (!s) state.set(key, (s = { ended: false, rings: new Map() }));
    if (r.kind === 'release') s.ended = true;
    else if (r.ring && r.status) s.rings.set(r.ring, { status: r.status, at: Number(r.occurred_at) });
  }
  for (const [key, s] of state) {
    if (s.ended) continue;
    const [change, release] = key.split('\u0000') as [string, string];
    for (const [ring, step] of s.rings) {
      if (step.status !== 'waiting') continue;
      const prev = out.get(change);
      if (prev && Date.parse(prev.since) >= step.at) continue;
      out.set(change, { kind: 'approval', release, ring, since: new Date(step.at).toISOString(), who: `an approver of ring ${ring}` });
    }
  }
  return out;
}
