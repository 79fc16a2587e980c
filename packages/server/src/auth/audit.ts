import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.ts';
import type { Storage } from '../storage/storage.ts';

export interface AuditRecord {
  actor: string;
  action: string;
  target?: string | null;
  ip?: string | null;
  /** ok, denied (401/403), invalid (4xx), error (5xx) */
  result: 'ok' | 'denied' | 'invalid' | 'error';
  status: number;
  details?: unknown;
  at?: number;
}

export interface AuditEntry extends Omit<AuditRecord, 'at'> {
  id: number;
  at: string;
}

/** Appends one audit record; the table refuses updates and deletes (database triggers). */
export async function writeAudit(storage: Storage, record: AuditRecord): Promise<void> {
  await writeAuditIn(storage.db, record);
}

/** Appends one audit record inside a transaction the caller holds. */
export async function writeAuditIn(db: Kysely<Database>, record: AuditRecord): Promise<void> {
  await db.insertInto('audit').values({
    at: record.at ?? Date.now(), actor: record.actor, action: record.action, target: record.target ?? null,
    ip: record.ip ?? null, result: record.result, status: record.status,
    details: record.details === undefined ? null : JSON.stringify(record.details),
  }).execute();
}

export async function listAudit(storage: Storage, options: { limit: number; before?: number; actor?: string }): Promise<AuditEntry[]> {
  let q = storage.db.selectFrom('audit').selectAll().orderBy('id', 'desc').limit(options.limit);
  if (options.before !== undefined) q = q.where('id', '<', options.before);
  if (options.actor) q = q.where('actor', '=', options.actor);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id, at: new Date(r.at).toISOString(), actor: r.actor, action: r.action, target: r.target, ip: r.ip,
    result: r.result as AuditRecord['result'], status: r.status, details: r.details ? JSON.parse(r.details) : undefined,
  }));
}
