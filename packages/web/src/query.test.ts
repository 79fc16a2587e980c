import { afterEach, describe, expect, test, vi } from 'vitest';
import { QueryObserver } from '@tanstack/react-query';
import { keys } from './keys.ts';
import { applyLiveUpdate, queryClient } from './query.ts';

const update = { kinds: ['sync'], changes: [], clusters: ['eu-1'], releases: [], at: '2026-01-01T00:00:00Z' };

/** An active query (one observer) whose loads are resolved by hand, one at a time. */
function watch(key: readonly unknown[]) {
  const pending: Array<(v: number) => void> = [];
  let loads = 0;
  const observer = new QueryObserver(queryClient, {
    queryKey: key,
    queryFn: () => {
      loads++;
      return new Promise<number>((resolve) => pending.push(resolve));
    },
  });
  const stop = observer.subscribe(() => {});
  return { loads: () => loads, finish: (v: number) => pending.shift()!(v), stop };
}

afterEach(() => queryClient.clear());

describe('live updates as query invalidations', () => {
  test('reloads the queries an update touches and leaves the others alone', async () => {
    const cluster = watch(keys.cluster('eu-1', null, null));
    const other = watch(keys.cluster('us-1', null, null));
    cluster.finish(1);
    other.finish(1);
    await vi.waitFor(() => expect(queryClient.getQueryData(keys.cluster('us-1', null, null))).toBe(1));
    applyLiveUpdate(update);
    await vi.waitFor(() => expect(cluster.loads()).toBe(2));
    expect(other.loads()).toBe(1);
    cluster.stop();
    other.stop();
  });

  test('updates during a load neither cancel it nor get lost: they fold into one more load after it', async () => {
    const q = watch(keys.instance('eu-1', 'shop'));
    await vi.waitFor(() => expect(q.loads()).toBe(1));
    applyLiveUpdate(update);
    applyLiveUpdate(update);
    applyLiveUpdate(update);
    expect(q.loads()).toBe(1);
    q.finish(1);
    await vi.waitFor(() => expect(q.loads()).toBe(2));
    // the first load was not cancelled: its answer was kept
    expect(queryClient.getQueryData(keys.instance('eu-1', 'shop'))).toBe(1);
    q.finish(2);
    await vi.waitFor(() => expect(queryClient.getQueryData(keys.instance('eu-1', 'shop'))).toBe(2));
    expect(q.loads()).toBe(2);
    q.stop();
  });
});
