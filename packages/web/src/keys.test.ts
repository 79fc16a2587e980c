import { describe, expect, test } from 'vitest';
import { keys, reconnected, touches, type LiveUpdate } from './keys.ts';

const update = (u: Partial<LiveUpdate>): LiveUpdate => ({ kinds: [], changes: [], clusters: [], releases: [], at: '2026-01-01T00:00:00Z', ...u });

describe('which live updates touch which queries', () => {
  test('the first page of the board follows every update; a deeper page none, not even a reconnection', () => {
    expect(touches(keys.changes({ app: null }, null), update({ kinds: ['build'] }))).toBe(true);
    expect(touches(keys.changes({ app: null }, 'c-50'), update({ kinds: ['build'], changes: ['c1'] }))).toBe(false);
    expect(touches(keys.changes({ app: null }, 'c-50'), reconnected('2026-01-01T00:00:00Z'))).toBe(false);
  });

  test('a change, a cluster, an instance and its panels only when the update names them', () => {
    expect(touches(keys.change('c1'), update({ changes: ['c1'] }))).toBe(true);
    expect(touches(keys.change('c1'), update({ changes: ['c2'] }))).toBe(false);
    for (const key of [keys.cluster('eu-1', null, null), keys.instance('eu-1', 'shop'), keys.drift('eu-1', 'shop'), keys.nodes('eu-1', 'shop')]) {
      expect(touches(key, update({ clusters: ['eu-1'] }))).toBe(true);
      expect(touches(key, update({ clusters: ['us-1'] }))).toBe(false);
    }
    expect(touches(keys.fleet({}, 0, false), update({ clusters: ['us-1'] }))).toBe(true);
    expect(touches(keys.fleet({}, 0, false), update({ changes: ['c1'] }))).toBe(false);
  });

  test('releases, DORA and requests by the kinds of events', () => {
    expect(touches(keys.release('r1'), update({ releases: ['r1'] }))).toBe(true);
    expect(touches(keys.release('r1'), update({ kinds: ['promotion.step'] }))).toBe(true);
    expect(touches(keys.release('r1'), update({ releases: ['r2'] }))).toBe(false);
    expect(touches(keys.releases(null, null), update({ releases: ['r2'] }))).toBe(true);
    expect(touches(keys.releases(null, '40'), update({ releases: ['r2'] }))).toBe(false);
    expect(touches(keys.metrics({ since: '30d' }), update({ kinds: ['health'] }))).toBe(true);
    expect(touches(keys.metrics({ since: '30d' }), update({ kinds: ['build'] }))).toBe(false);
    expect(touches(keys.requests(null, null), update({ kinds: ['request'] }))).toBe(true);
    expect(touches(keys.request('q1'), update({ kinds: ['sync'], clusters: ['eu-1'] }))).toBe(false);
  });

  test('a reconnection has every view look again, but not the filter choices or a request log', () => {
    const again = reconnected('2026-01-01T00:00:00Z');
    for (const key of [keys.change('c1'), keys.fleet({}, 2, true), keys.instance('eu-1', 'shop'), keys.releases(null, '40'), keys.release('r1'), keys.metrics({}), keys.requests(null, null), keys.request('q1')]) {
      expect(touches(key, again)).toBe(true);
    }
    expect(touches(keys.facets(), again)).toBe(false);
    expect(touches(keys.requestLogs('q1', 'running'), again)).toBe(false);
  });
});
