import { describe, expect, it } from 'vitest';
import type { ReleaseView } from '@ringmaster/api';
import { formatMetricGates } from './metric-gates-view.ts';

describe('formatMetricGates', () => {
  it('prints each gate with its threshold and one row per measurement', () => {
    const rel = { rings: [{ ring: 'dev', metrics: [{ gate: 'error-rate', query: 'sum(x{cluster="{{cluster}}"})', threshold: { max: 0.05 }, count: 2, failureLimit: 0, measurements: [
      { cluster: 'c1', instance: null, wave: 0, seq: 0, at: '2026-01-01T00:00:00.000Z', value: 0.01, ok: true, error: null },
      { cluster: 'c1', instance: null, wave: 0, seq: 1, at: '2026-01-01T00:00:01.000Z', value: 0.5, ok: false, error: 'value 0.5 is not <= 0.05' },
    ] }] }, { ring: 'prod' }] } as unknown as ReleaseView;
    const text = formatMetricGates(rel);
    expect(text).toContain('metric gate error-rate of ring dev: sum(x{cluster="{{cluster}}"})  (threshold <= 0.05, 2 measurements, failureLimit 0)');
    expect(text).toMatch(/c1\s+1\s+2\s+0\.5\s+FAILED\s+2026-01-01T00:00:01\.000Z\s+value 0\.5 is not <= 0\.05/);
    expect(formatMetricGates({ rings: [{ ring: 'dev' }] } as unknown as ReleaseView)).toBe('');
  });
});
