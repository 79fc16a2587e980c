import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { MetricGateView } from '@ringmaster/api';
import { MetricGates } from './MetricGates.tsx';

describe('MetricGates', () => {
  it('shows a table per gate: cluster, value, threshold, ok', () => {
    const gates: MetricGateView[] = [{
      gate: 'error-rate', query: 'sum(x{cluster="{{cluster}}"})', threshold: { max: 0.05 }, count: 2, failureLimit: 0,
      measurements: [
        { cluster: 'dev-1', instance: null, wave: 0, seq: 0, at: '2026-01-01T00:00:00.000Z', value: 0.01, ok: true, error: null },
        { cluster: 'dev-1', instance: null, wave: 0, seq: 1, at: '2026-01-01T00:00:01.000Z', value: 0.5, ok: false, error: 'value 0.5 is not <= 0.05' },
      ],
    }];
    const html = renderToStaticMarkup(createElement(MetricGates, { ring: 'dev', gates }));
    expect(html).toContain('data-testid="metric-gate-dev-error-rate"');
    expect(html).toContain('<th>Cluster</th><th>#</th><th>Value</th><th>Threshold</th><th>OK</th>');
    expect(html).toMatch(/<tr class="st-ok"><td>dev-1<\/td><td>1<\/td><td>0.01<\/td><td>≤ 0.05<\/td><td>ok<\/td>/);
    expect(html).toMatch(/<tr class="st-failed" title="value 0.5 is not &lt;= 0.05"><td>dev-1<\/td><td>2<\/td><td>0.5<\/td><td>≤ 0.05<\/td><td>failed: value 0.5 is not &lt;= 0.05<\/td>/);
  });
});
