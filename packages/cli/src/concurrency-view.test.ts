import { describe, expect, it } from 'vitest';
import { concurrencyWords } from './concurrency-view.ts';

describe('what concurrency holds a release for', () => {
  it('names the releases a queued one waits for', () => {
    expect(concurrencyWords({ state: 'queued', waitsFor: ['r1', 'r2'], supersededBy: null })).toBe(' — waits for r1, r2');
  });

  it('says a superseded release is stopping, then that it was superseded', () => {
    expect(concurrencyWords({ state: 'in_progress', waitsFor: [], supersededBy: 'r3' })).toBe(' — stopping: superseded by r3');
    expect(concurrencyWords({ state: 'aborted', waitsFor: [], supersededBy: 'r3' })).toBe(' — superseded by r3');
  });

  it('says nothing of a release running as usual', () => {
    expect(concurrencyWords({ state: 'in_progress', waitsFor: [], supersededBy: null })).toBe('');
  });
});
