import { useRef } from 'react';
import { hashKey, QueryClient, useMutation, useQuery, type Query } from '@tanstack/react-query';
import { api } from './api.ts';
import { markData } from './perf.ts';
import { touches, type LiveUpdate, type QueryKeyOf } from './keys.ts';

/**
 * Every fetch of the dashboard goes through this client. Views are fresh because the live stream
 * invalidates what an event touches (live.ts), not because of timers or window focus; a failed
 * load is shown at once (with the old data kept, see Stale) and tried again on the next update.
 */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false, networkMode: 'always' },
  },
});

// Queries touched while a load of theirs runs: that load may have read the state from before the
// event, so one more load follows it. Cancelling it instead would let a steady stream of events
// starve the view; several updates meanwhile fold into that one load.
const again = new Set<string>();
queryClient.getQueryCache().subscribe((event) => {
  if (event.type !== 'updated' || event.query.state.fetchStatus !== 'idle' || !again.delete(event.query.queryHash)) return;
  void queryClient.invalidateQueries({ queryKey: event.query.queryKey, exact: true });
});

/** Reloads the queries that `which` picks (the active ones now; the others when next shown). */
export function reload(which: (key: QueryKeyOf) => boolean): void {
  const found = queryClient.getQueryCache().findAll({ predicate: (q: Query) => which(q.queryKey as unknown as QueryKeyOf) });
  for (const q of found) {
    if (q.state.fetchStatus === 'fetching') again.add(q.queryHash);
    else void queryClient.invalidateQueries({ queryKey: q.queryKey, exact: true });
  }
}

/** Reloads the queries a live update (or a reconnection) concerns, and no other. */
export function applyLiveUpdate(u: LiveUpdate): void {
  reload((key) => touches(key, u));
}

/** Reloads one query, e.g. after an action on what it shows. */
export function reloadKey(key: QueryKeyOf): void {
  const hash = hashKey(key);
  reload((k) => hashKey(k) === hash);
}

export interface ViewData<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Nothing to show yet: neither data nor an error for this key. */
  loading: boolean;
  /** When the data on screen was loaded, and since when reloading it fails (null while it is current). */
  loadedAt: string | null;
  failedAt: string | null;
}

/**
 * A view's data under `key` (a new key, e.g. other filters, shows its own data, not the old one's).
 * `view` names the load for the speed figures (perf.ts).
 */
export function useViewData<T>(view: string, key: QueryKeyOf, load: (signal: AbortSignal) => Promise<T>, options: {
  /** Polls while the data says something moves on its own between events. */
  refetchInterval?: (data: T | undefined) => number | false;
} = {}): ViewData<T> {
  const q = useQuery({
    queryKey: key,
    queryFn: async ({ signal }) => {
      const data = await load(signal);
      markData(view);
      return data;
    },
    refetchInterval: options.refetchInterval ? (query) => options.refetchInterval!(query.state.data) : undefined,
  });
  const failedAt = useFailedSince(q.data !== undefined ? q.dataUpdatedAt : 0, q.error ? q.errorUpdatedAt : 0);
  return {
    data: q.data, error: q.error ?? undefined, loading: q.isPending,
    loadedAt: q.data !== undefined && q.dataUpdatedAt ? new Date(q.dataUpdatedAt).toISOString() : null,
    failedAt,
  };
}

/** The first failure after the data on screen was loaded (the query itself keeps only the last). */
function useFailedSince(dataAt: number, errorAt: number): string | null {
  const first = useRef<{ dataAt: number; since: number } | null>(null);
  if (!dataAt || !errorAt || errorAt < dataAt) {
    first.current = null;
    return null;
  }
  if (first.current?.dataAt !== dataAt) first.current = { dataAt, since: errorAt };
  return new Date(first.current.since).toISOString();
}

/**
 * Actions (POSTs) of a view through TanStack Query: `busy` names the one running (null when none,
 * one at a time as the buttons allow); `reload` runs once it has settled, whatever the answer.
 */
export function usePost<N extends string>(reload: () => void) {
  const m = useMutation({
    mutationFn: ({ path, body }: { name: N; path: string; body: Record<string, unknown> }) => api<unknown>(path, { method: 'POST', body }),
    onSettled: reload,
  });
  return {
    busy: m.isPending ? m.variables.name : null,
    /** Answers what the action answered (its shape is the caller's to name, as with api()). */
    post: async <R>(name: N, path: string, body: Record<string, unknown>): Promise<R> => (await m.mutateAsync({ name, path, body })) as R,
  };
}
