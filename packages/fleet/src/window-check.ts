import { Cron } from 'croner';

/**
 * Checks of a deployment window's parts that a regular expression cannot make: the cron schedule
 * (croner's own parser) and the IANA time zone (the runtime's time-zone database). Each returns
 * why the text is wrong, or undefined when it is right.
 */

/** Why a five- or six-field cron expression is malformed (croner's message), or undefined. */
export function cronProblem(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return `must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), such as "0 9 * * 1-4"; got ${fields} field(s)`;
  try {
    new Cron(schedule, { paused: true });
    return undefined;
  } catch (err) {
    return `is not a valid cron expression: ${(err as Error).message}`;
  }
}

/** Why a time zone is not an IANA zone this runtime knows (e.g. "Europe/Berlin", "UTC"), or undefined. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return undefined;
  } catch {
    return `is not a known IANA time zone (such as "Europe/Berlin", "America/New_York" or "UTC")`;
  }
}
