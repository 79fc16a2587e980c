import { describe, expect, it } from 'vitest';
import type { DeploymentWindow } from '@ringmaster/api';
import { closesAt, isOpen, nextOpening } from './windows.ts';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
/** Prod's window: Monday to Thursday, 09:00–16:00 in Berlin. */
const berlin: DeploymentWindow[] = [{ schedule: '0 9 * * 1-4', durationMs: 7 * H, timeZone: 'Europe/Berlin' }];

describe('deployment windows', () => {
  it('is open Mon–Thu 09:00–16:00 Berlin time in winter (UTC+1)', () => {
    // Thursday 2026-03-26, before the change to summer time
    expect(isOpen(berlin, at('2026-03-26T07:59:59Z'))).toBe(false);
    expect(isOpen(berlin, at('2026-03-26T08:00:00Z'))).toBe(true);
    expect(isOpen(berlin, at('2026-03-26T14:59:59Z'))).toBe(true);
    expect(isOpen(berlin, at('2026-03-26T15:00:00Z'))).toBe(false);
    expect(closesAt(berlin, at('2026-03-26T10:00:00Z'))).toBe(at('2026-03-26T15:00:00Z'));
  });

  it('opens an hour earlier in UTC after the spring change (UTC+2)', () => {
    // from Thursday evening across the weekend of 29 March: Monday 09:00 CEST is 07:00 UTC
    expect(nextOpening(berlin, at('2026-03-26T16:00:00Z'))).toBe(at('2026-03-30T07:00:00Z'));
    expect(isOpen(berlin, at('2026-03-30T06:59:59Z'))).toBe(false);
    expect(isOpen(berlin, at('2026-03-30T07:00:00Z'))).toBe(true);
    expect(isOpen(berlin, at('2026-03-30T13:59:59Z'))).toBe(true);
    expect(isOpen(berlin, at('2026-03-30T14:00:00Z'))).toBe(false);
  });

  it('opens an hour later in UTC after the autumn change (UTC+1 again)', () => {
    // Thursday 22 October is summer time, Monday 26 October winter time
    expect(nextOpening(berlin, at('2026-10-22T06:00:00Z'))).toBe(at('2026-10-22T07:00:00Z'));
    expect(nextOpening(berlin, at('2026-10-22T15:00:00Z'))).toBe(at('2026-10-26T08:00:00Z'));
  });

  it('is closed on Friday and the weekend, and opens on Monday', () => {
    expect(isOpen(berlin, at('2026-06-05T10:00:00Z'))).toBe(false); // Friday 12:00 in Berlin
    expect(isOpen(berlin, at('2026-06-07T10:00:00Z'))).toBe(false); // Sunday
    expect(nextOpening(berlin, at('2026-06-05T10:00:00Z'))).toBe(at('2026-06-08T07:00:00Z'));
  });

  it('gives now as the next opening from inside a window', () => {
    const now = at('2026-06-03T09:30:00Z'); // Wednesday 11:30 in Berlin
    expect(nextOpening(berlin, now)).toBe(now);
  });

  it('is always open without windows', () => {
    expect(isOpen([], at('2026-06-06T03:00:00Z'))).toBe(true);
    expect(nextOpening([], 42)).toBe(42);
    expect(closesAt([], 42)).toBeUndefined();
  });

  it('keeps a window across midnight open into the next day', () => {
    const night: DeploymentWindow[] = [{ schedule: '0 22 * * *', durationMs: 4 * H, timeZone: 'UTC' }];
    expect(isOpen(night, at('2026-06-06T01:59:00Z'))).toBe(true);
    expect(isOpen(night, at('2026-06-06T02:00:00Z'))).toBe(false);
  });

  it('takes the earliest of several windows', () => {
    const two: DeploymentWindow[] = [...berlin, { schedule: '0 6 * * 6', durationMs: 2 * H, timeZone: 'America/New_York' }];
    // Friday noon in Berlin: Saturday 06:00 in New York (10:00 UTC) comes before Monday in Berlin
    expect(nextOpening(two, at('2026-06-05T10:00:00Z'))).toBe(at('2026-06-06T10:00:00Z'));
  });

  it('never opens for a schedule that never fires', () => {
    expect(nextOpening([{ schedule: '0 0 30 2 *', durationMs: H, timeZone: 'UTC' }], at('2026-06-06T00:00:00Z'))).toBeUndefined();
  });
});
