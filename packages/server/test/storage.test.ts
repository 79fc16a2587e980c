import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openStorage, recordEvents, writeAudit } from '../src/index.ts';
import { BACKENDS, useBackends } from './helpers/harness.ts';
import { migrations } from '../src/storage/migrations.ts';

const backends = useBackends();

describe.each(BACKENDS)('storage on %s', (backend) => {
  it('migrates a fresh database and re-opens it without migrating twice', async () => {
    const options = await backends.options(backend);
    const first = await openStorage(options);
    await first.close();
    const second = await openStorage(options);
    try {
      const rows = await sql<{ name: string }>`select name from ringmaster_migrations`.execute(second.db);
      expect(rows.rows.map((r) => r.name)).toEqual(Object.keys(migrations(backend)).sort());
      expect(rows.rows[0]!.name).toBe('0001_initial');
      expect(second.dialect).toBe(backend);
    } finally {
      await second.close();
    }
  });

  it('returns epoch-millisecond times as numbers on both dialects', async () => {
    const storage = await backends.storage(backend);
    try {
      const at = Date.parse('2026-03-01T10:00:00Z');
      await recordEvents(storage, [{ kind: 'commit', commit: 'a'.repeat(40), occurredAt: new Date(at).toISOString(), source: 'api' }], { settings: { rings: [] } });
      const change = await storage.db.selectFrom('changes').selectAll().executeTakeFirstOrThrow();
      expect(change.committed_at).toBe(at);
      expect(typeof change.updated_at).toBe('number');
    } finally {
      await storage.close();
    }
  });

  it('keeps the audit trail append-only in the database itself', async () => {
    const storage = await backends.storage(backend);
    try {
      await writeAudit(storage, { actor: 'alice', action: 'POST /api/v1/events', result: 'ok', status: 201 });
      await expect(storage.db.updateTable('audit').set({ actor: 'mallory' }).execute()).rejects.toThrow(/append-only/);
      await expect(storage.db.deleteFrom('audit').execute()).rejects.toThrow(/append-only/);
      const rows = await storage.db.selectFrom('audit').select('actor').execute();
      expect(rows).toEqual([{ actor: 'alice' }]);
    } finally {
      await storage.close();
    }
  });

  it('stores a batch entirely or not at all', async () => {
    const storage = await backends.storage(backend);
    try {
      // a trigger that refuses one row stands in for any failure in the middle of a batch
      if (backend === 'postgres') {
        await sql`CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN IF NEW.source = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql`.execute(storage.db);
        await sql`CREATE TRIGGER refuse_boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_boom()`.execute(storage.db);
      } else {
        await sql`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.source = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`.execute(storage.db);
      }
      const good = { kind: 'commit' as const, commit: 'b'.repeat(40), source: 'api' };
      const bad = { kind: 'commit' as const, commit: 'c'.repeat(40), source: 'boom' };
      await expect(recordEvents(storage, [good, bad], { settings: { rings: [] } })).rejects.toThrow(/boom/);
      const count = await storage.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(0);
      expect(await storage.db.selectFrom('changes').select('id').execute()).toEqual([]);
    } finally {
      await storage.close();
    }
  });
});
