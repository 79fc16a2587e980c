import { describe, expect, it } from 'vitest';
import { WorkQueue } from './queue.ts';
import { mergePatchFor } from './merge-patch.ts';

describe('WorkQueue', () => {
  it('never works on one key twice at once and works again once after an add during work', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate;
      running--;
    });
    q.add('a');
    q.add('a');
    q.add('a');
    release();
    await q.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries a failing key with bounded backoff', async () => {
    const attempts: number[] = [];
    let n = 0;
    const q = new WorkQueue(async () => {
      n++;
      if (n < 4) throw new Error('boom');
    }, { baseDelayMs: 1, maxDelayMs: 4, onError: (_k, _e, attempt) => attempts.push(attempt) });
    q.add('k');
    await q.idle();
    expect(n).toBe(4);
    expect(attempts).toEqual([1, 2, 3]);
  });
});

describe('mergePatchFor', () => {
  it('nulls removed keys and replaces lists', () => {
    expect(mergePatchFor({ a: 1, b: { c: 1, d: 2 }, l: [1, 2] }, { b: { c: 2 }, l: [3] })).toEqual({ a: null, b: { c: 2, d: null }, l: [3] });
  });
});
