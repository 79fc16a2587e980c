import type { Kysely, Selectable } from 'kysely';
import { identityKey, type ObjectRef } from '@ringmaster/kube';
import type { Database } from '../storage/schema.ts';
import type { DriftField } from './compare.ts';
import type { DriftFieldsTable } from './tables.ts';
import type { DriftRecord } from '@ringmaster/api';
export type { DriftRecord };

/** Who made a change, from the cluster's audit log. */
export interface DriftAudit {
  user: string;
  verb: string;
  time: string;
}

/** The drift of one object as the detector found it. */
export interface ObjectFinding {
  cluster: string;
  instance: string;
  app: string;
  ring: string | null;
  releaseId: string;
  ref: ObjectRef;
  /** 'missing', or the drifted fields (empty: in sync). */
  drift: DriftField[] | 'missing';
  audit?: DriftAudit;
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parse = (v: string | null): unknown => (v === null ? undefined : JSON.parse(v));

export function toRecord(r: Selectable<DriftFieldsTable>): DriftRecord {
  return {
    cluster: r.cluster, instance: r.instance, app: r.app, ring: r.ring, release: r.release_id,
    object: { apiVersion: r.api_version, kind: r.kind, ...(r.namespace ? { namespace: r.namespace } : {}), name: r.name },
    state: r.state as DriftRecord['state'], path: r.path, desired: parse(r.desired), live: parse(r.live),
    manager: r.manager, operation: r.operation, changedAt: r.changed_at, user: r.audit_user, userVerb: r.audit_verb, userAt: r.audit_at,
    firstSeen: new Date(r.first_seen).toISOString(), lastSeen: new Date(r.last_seen).toISOString(),
  };
}

/** What a finding changed in the store: rows that appeared (or changed value) and rows that were resolved. */
export interface FindingChange {
  added: DriftRecord[];
  resolved: DriftRecord[];
}

/**
 * Replaces the stored drift of one object with a finding (level-based: an unchanged finding writes
 * nothing; a field that went back to its desired value is deleted). Keeps first_seen of fields that stay.
 */
export async function storeFinding(db: Kysely<Database>, f: ObjectFinding, now: number): Promise<FindingChange> {
  const key = identityKey(f.ref);
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('drift_fields').selectAll().where('cluster', '=', f.cluster).where('instance', '=', f.instance).where('object_key', '=', key).execute();
    const byPath = new Map(existing.map((r) => [r.path, r]));
    const fields: DriftField[] = f.drift === 'missing' ? [{ path: '', desired: undefined, live: undefined }] : f.drift;
    const state = f.drift === 'missing' ? 'missing' : 'drifted';
    const added: DriftRecord[] = [];
    const keep = new Set<string>();
    for (const d of fields) {
      keep.add(d.path);
      const old = byPath.get(d.path);
      // who changed it stays known while the live value stays the same (later writes, e.g. a controller's, did not make it)
      const kept = old && old.live === json(d.live) ? old : undefined;
      const row: Selectable<DriftFieldsTable> = {
        cluster: f.cluster, instance: f.instance, app: f.app, ring: f.ring, object_key: key, api_version: f.ref.apiVersion, kind: f.ref.kind,
        namespace: f.ref.namespace ?? '', name: f.ref.name, path: d.path, state, desired: json(d.desired), live: json(d.live),
        manager: d.manager ?? null, operation: d.operation ?? null, changed_at: d.time ?? null,
        audit_user: kept?.audit_user ?? f.audit?.user ?? null, audit_verb: kept?.audit_user ? kept.audit_verb : f.audit?.verb ?? null, audit_at: kept?.audit_user ? kept.audit_at : f.audit?.time ?? null,
        release_id: f.releaseId, first_seen: old?.first_seen ?? now, last_seen: now,
      };
      if (old && old.state === row.state && old.live === row.live && old.desired === row.desired && old.manager === row.manager && old.audit_user === row.audit_user && old.release_id === row.release_id) continue;
      if (old) {
        await trx.updateTable('drift_fields').set(row).where('cluster', '=', f.cluster).where('instance', '=', f.instance).where('object_key', '=', key).where('path', '=', d.path).execute();
      } else {
        await trx.insertInto('drift_fields').values(row).execute();
      }
      added.push(toRecord(row));
    }
    const gone = existing.filter((r) => !keep.has(r.path));
    for (const r of gone) await trx.deleteFrom('drift_fields').where('cluster', '=', r.cluster).where('instance', '=', r.instance).where('object_key', '=', r.object_key).where('path', '=', r.path).execute();
    return { added, resolved: gone.map(toRecord) };
  });
}

/** Deletes the drift of objects an instance no longer delivers (or of the whole instance when `keep` is empty). */
export async function forgetObjects(db: Kysely<Database>, cluster: string, instance: string, keep: Set<string>): Promise<DriftRecord[]> {
  const rows = await db.selectFrom('drift_fields').selectAll().where('cluster', '=', cluster).where('instance', '=', instance).execute();
  const gone = rows.filter((r) => !keep.has(r.object_key));
  for (const r of gone) await db.deleteFrom('drift_fields').where('cluster', '=', r.cluster).where('instance', '=', r.instance).where('object_key', '=', r.object_key).where('path', '=', r.path).execute();
  return gone.map(toRecord);
}

/** Filters of listDrift. */
export interface DriftQuery {
  app?: string;
  cluster?: string;
  instance?: string;
  /** Only these apps (a scoped principal). */
  apps?: string[];
  rings?: string[];
  limit?: number;
}

/** Stored drift, oldest first per instance. */
export async function listDrift(db: Kysely<Database>, q: DriftQuery = {}): Promise<DriftRecord[]> {
  let query = db.selectFrom('drift_fields').selectAll();
  if (q.app) query = query.where('app', '=', q.app);
  if (q.cluster) query = query.where('cluster', '=', q.cluster);
  if (q.instance) query = query.where('instance', '=', q.instance);
  if (q.apps?.length) query = query.where('app', 'in', q.apps);
  if (q.rings?.length) query = query.where('ring', 'in', q.rings);
  const rows = await query.orderBy('cluster').orderBy('instance').orderBy('object_key').orderBy('path').limit(q.limit ?? 10_000).execute();
  return rows.map(toRecord);
}

/** Drifted objects by app and cluster (what ringmaster_drift_objects reports). */
export async function driftCounts(db: Kysely<Database>): Promise<Array<{ app: string; cluster: string; objects: number }>> {
  const rows = await db.selectFrom('drift_fields').select(['app', 'cluster']).select((eb) => eb.fn.count<number>('object_key').distinct().as('n')).groupBy(['app', 'cluster']).execute();
  return rows.map((r) => ({ app: r.app, cluster: r.cluster, objects: Number(r.n) }));
}
