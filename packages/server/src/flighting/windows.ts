import { Cron } from 'croner';
import type { DeploymentWindow } from '@ringmaster/api';

/**
 * Deployment window arithmetic, pure: a window opens at each start of its cron schedule (read in its
 * IANA time zone, so 09:00 Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer) and stays
 * open for its duration. No windows means always open. Times are epoch milliseconds.
 */

const schedules = new Map<string, Cron>();

function scheduleOf(w: DeploymentWindow): Cron {
  const key = `${w.timeZone}\n${w.schedule}`;
  let cron = schedules.get(key);
  if (!cron) {
    // paused: croner only computes, it never schedules anything
    cron = new Cron(w.schedule, { timezone: w.timeZone, paused: true });
    schedules.set(key, cron);
  }
  return cron;
}

/** The first start of the schedule strictly after `t`, or undefined when it never starts again. */
function startAfter(w: DeploymentWindow, t: number): number | undefined {
  return scheduleOf(w).nextRun(new Date(t))?.getTime();
}

/** When the opening of `w` that covers `now` began, or undefined when `w` is closed at `now`. */
function openedAt(w: DeploymentWindow, now: number): number | undefined {
  // a start in (now - duration, now] covers now; the window closes at the instant start + duration
  const start = startAfter(w, now - w.durationMs);
  return start !== undefined && start <= now ? start : undefined;
}

/** Whether any of the windows is open at `now` (true when there are none). */
export function isOpen(windows: readonly DeploymentWindow[], now: number): boolean {
  return windows.length === 0 || windows.some((w) => openedAt(w, now) !== undefined);
}

/** When the windows next open: `now` while one is open, else the earliest next start; undefined when none ever opens again. */
export function nextOpening(windows: readonly DeploymentWindow[], now: number): number | undefined {
  if (isOpen(windows, now)) return now;
  let next: number | undefined;
  for (const w of windows) {
    const t = startAfter(w, now);
    if (t !== undefined && (next === undefined || t < next)) next = t;
  }
  return next;
}

/** When the open windows close (the latest end among those open at `now`); undefined when none is open or there are no windows. */
export function closesAt(windows: readonly DeploymentWindow[], now: number): number | undefined {
  let end: number | undefined;
  for (const w of windows) {
    const start = openedAt(w, now);
    if (start !== undefined && (end === undefined || start + w.durationMs > end)) end = start + w.durationMs;
  }
  return end;
}
