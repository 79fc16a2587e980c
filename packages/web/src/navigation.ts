import { useCallback, useLayoutEffect } from 'react';
import { useNavigate, useSearchParams, type NavigateFunction } from 'react-router';

/**
 * Navigation on React Router (declarative mode: a BrowserRouter, see main.tsx): the path picks the
 * view and the query string holds every filter and column choice, so a copied link shows someone
 * else the same page.
 */
let routerNavigate: NavigateFunction | undefined;

/** Lends the router's navigate to navigate() below; rendered once, first inside the BrowserRouter. */
export function NavigationBinding(): null {
  const n = useNavigate();
  useLayoutEffect(() => {
    routerNavigate = n;
  }, [n]);
  return null;
}

/** Goes to `to` in-app; marks the start of the navigation for the speed figures (see perf.ts). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (!routerNavigate) throw new Error('navigate() outside the router: main.tsx renders NavigationBinding first');
  performance.mark('rm:navigate');
  void routerNavigate(to, { replace: options.replace });
}

export type SetQuery = (patch: Record<string, string | null | undefined>, options?: { replace?: boolean }) => void;

/** Reads and writes query parameters of the current page; empty values are dropped from the URL. */
export function useQueryState(): [URLSearchParams, SetQuery] {
  const [params] = useSearchParams();
  const set = useCallback<SetQuery>((patch, options = {}) => {
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
