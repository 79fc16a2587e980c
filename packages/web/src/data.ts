import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.ts';
import { markData } from './perf.ts';

/**
 * Loads a view's data, again when `key` changes (filters: the old request is dropped) and when
 * `refresh` changes (a live update). A live reload keeps the old data on screen until the new data
 * is there, and never cancels one already running: updates that arrive meanwhile are folded into
 * one more load after it, so a steady stream of events cannot starve the view.
 */
export function useData<T>(view: string, key: string, refresh: unknown, load: (signal: AbortSignal) => Promise<T>) {
  const [state, setState] = useState<{ key: string; data?: T; error?: ApiError | Error; loadedAt?: string; failedAt?: string }>({ key });
  const loadRef = useRef(load);
  loadRef.current = load;
  const inFlight = useRef<{ key: string; abort: AbortController; again: boolean } | null>(null);

  const start = useCallback((k: string) => {
    const run = { key: k, abort: new AbortController(), again: false };
    inFlight.current = run;
    const { signal } = run.abort;
    void loadRef.current(signal).then(
      (data) => {
        if (signal.aborted) return;
        markData(view);
        setState({ key: k, data, loadedAt: new Date().toISOString() });
      },
      (error: unknown) => {
        if (signal.aborted) return;
        // a failed reload keeps what was shown, and remembers since when it is not current
        setState((s) => s.key === k && s.data !== undefined
          ? { ...s, error: error as Error, failedAt: s.failedAt ?? new Date().toISOString() }
          : { key: k, error: error as Error });
      },
    ).finally(() => {
      if (inFlight.current !== run) return;
      inFlight.current = null;
      if (run.again && !signal.aborted) start(k);
    });
  }, [view]);

  useEffect(() => {
    start(key);
    return () => {
      inFlight.current?.abort.abort();
      inFlight.current = null;
    };
  }, [key, start]);

  const mounted = useRef(false);
  useEffect(() => {
    // the first run is the key effect's
    if (!mounted.current) {
      mounted.current = true;
      return;
    }
    if (inFlight.current?.key === key) inFlight.current.again = true;
    else start(key);
    // key is read, not watched: a key change is the other effect's business
  }, [refresh]);

  const current = state.key === key;
  return {
    data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || (!state.data && !state.error),
    /** When the data on screen was loaded, and since when reloading it fails (null while it is current). */
    loadedAt: current ? state.loadedAt ?? null : null, failedAt: current ? state.failedAt ?? null : null,
  };
}
