import { useLayoutEffect, useRef } from 'react';

/** One view load: from navigation to its data, and from the data to the DOM. */
export interface ViewTiming {
  view: string;
  navigationToDataMs: number;
  dataToRenderMs: number;
  at: number;
}

declare global {
  interface Window {
    __ringmasterTimings?: ViewTiming[];
  }
}

/** Call when a view's data has arrived (before setting state). */
export function markData(view: string): void {
  performance.mark(`rm:data:${view}`);
}

function lastMark(name: string): number | undefined {
  const marks = performance.getEntriesByName(name, 'mark');
  return marks.length ? marks[marks.length - 1]!.startTime : undefined;
}

/**
 * Records navigation → data → rendered once the DOM for `data` is committed. The navigation is the
 * last in-app navigate() mark, or the page load itself (time origin 0).
 */
export function useRenderTiming(view: string, data: unknown): void {
  const seen = useRef<unknown>(undefined);
  useLayoutEffect(() => {
    if (data === undefined || data === null || seen.current === data) return;
    seen.current = data;
    const dataAt = lastMark(`rm:data:${view}`);
    if (dataAt === undefined) return;
    const rendered = performance.now();
    const nav = lastMark('rm:navigate') ?? 0;
    const start = nav <= dataAt ? nav : 0;
    performance.measure(`rm:render:${view}`, { start: dataAt, end: rendered });
    (window.__ringmasterTimings ??= []).push({ view, navigationToDataMs: dataAt - start, dataToRenderMs: rendered - dataAt, at: rendered });
  }, [view, data]);
}
