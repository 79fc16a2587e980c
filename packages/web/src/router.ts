import { useCallback, useSyncExternalStore } from 'react';

/**
 * A small history router: the path picks the view and the query string holds every filter and
 * column choice, so a copied link shows someone else the same page.
 */
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener('popstate', notify);

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}
const snapshot = () => window.location.pathname + window.location.search;

/** Marks the start of an in-app navigation for the speed figures (see perf.ts). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  performance.mark('rm:navigate');
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function useLocation(): { path: string; params: URLSearchParams } {
  const loc = useSyncExternalStore(subscribe, snapshot);
  const q = loc.indexOf('?');
  return { path: q === -1 ? loc : loc.slice(0, q), params: new URLSearchParams(q === -1 ? '' : loc.slice(q)) };
}

/** Reads and writes query parameters of the current page; empty values are dropped from the URL. */
export function useQueryState(): [URLSearchParams, (patch: Record<string, string | null | undefined>, options?: { replace?: boolean }) => void] {
  const { params } = useLocation();
  const set = useCallback((patch: Record<string, string | null | undefined>, options: { replace?: boolean } = {}) => {
    const next = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === undefined || v === '') next.delete(k);
      else next.set(k, v);
    }
    const s = next.toString();
    navigate(window.location.pathname + (s ? `?${s}` : ''), options);
  }, []);
  return [params, set];
}

/** For <a href> that navigates in-app on a plain click and still opens a new tab on ctrl/middle click. */
export function linkProps(to: string) {
  return {
    href: to,
    onClick: (e: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean; preventDefault(): void }) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(to);
    },
  };
}
