import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackends } from './helpers/harness.ts';
import { MeasurementStore } from '../src/flighting/measurement-store.ts';
import { FlightStore } from '../src/flighting/store.ts';

// release_measurements (migration 0107_metric_gates) on both databases: values as written, a repeated
// measurement kept once, and deleted with its release.
const backends = useBackends();

describe.each(BACKENDS)('metric gate measurements on %s', (backend) => {
  it('records measurements once, lists them in order and deletes them with the release', async () => {
    const storage = await backends.storage(backend);
    try {
      const store = new MeasurementStore(storage);
      const m = { ring: 'dev', wave: 0, cluster: 'c1', gate: 'error-rate', instance: '', ok: true, error: null };
      await store.record('r1', [{ ...m, seq: 0, at: 1_700_000_000_000, value: 0.0125 }, { ...m, seq: 1, at: 1_700_000_001_000, value: null, ok: false, error: 'the query returned no value' }]);
      // a pass repeated after a crash records the same measurement again: the first one stays
      await store.record('r1', [{ ...m, seq: 1, at: 1_700_000_002_000, value: 9, ok: true, error: null }]);
      await store.record('r2', [{ ...m, seq: 0, at: 1_700_000_000_000, value: Number.POSITIVE_INFINITY }]);
      expect(await store.list('r1')).toEqual([
        { ...m, seq: 0, at: 1_700_000_000_000, value: 0.0125 },
        { ...m, seq: 1, at: 1_700_000_001_000, value: null, ok: false, error: 'the query returned no value' },
      ]);
      expect((await store.list('r2'))[0]!.value).toBeNull();
      await new FlightStore(storage).deleteRelease('r1');
      expect(await store.list('r1')).toEqual([]);
      expect(await store.list('r2')).toHaveLength(1);
    } finally {
      await storage.close();
    }
  });
});
