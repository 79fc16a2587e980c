import { useEffect, useState } from 'react';
import { ApiError } from './api.ts';
import { markData } from './perf.ts';

/**
 * Loads a view's data and reloads it when `key` changes (filters) or when `refresh` changes (a
 * live update): a live reload keeps the old data on screen until the new data is there.
 */
export function useData<T>(view: string, key: string, refresh: unknown, load: (signal: AbortSignal) => Promise<T>) {
  const [state, setState] = useState<{ key: string; data?: T; error?: ApiError | Error }>({ key });
  useEffect(() => {
    const abort = new AbortController();
    load(abort.signal).then(
      (data) => {
        if (abort.signal.aborted) return;
        markData(view);
        setState({ key, data });
      },
      (error: unknown) => {
        if (abort.signal.aborted) return;
        setState((s) => ({ key, data: s.key === key ? s.data : undefined, error: error as Error }));
      },
    );
    return () => abort.abort();
    // load is recreated every render; key and refresh say when it must run again
  }, [view, key, refresh]);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || (!state.data && !state.error) };
}
