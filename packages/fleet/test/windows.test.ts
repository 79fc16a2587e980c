import { afterEach, describe, expect, it } from 'vitest';
import { FleetValidationError, validateFleet, type FleetIssue } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

async function issuesOf(dir: string): Promise<FleetIssue[]> {
  try {
    await validateFleet(dir);
  } catch (e) {
    if (e instanceof FleetValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected the fleet to be invalid');
}

/** The example fleet with one deployment window on the prod ring. */
function withWindow(window: string): TempRepo {
  const r = new TempRepo(EXAMPLE_FLEET);
  r.edit('ringmaster.yaml', '      soak: 10m\n', `      soak: 10m\n      windows:\n${window}`);
  return r;
}

describe('deployment windows in the fleet', () => {
  it('accepts a Mon–Thu 09:00 window of 7h in Europe/Berlin', async () => {
    repo = withWindow('        - { schedule: "0 9 * * 1-4", duration: 7h, timeZone: Europe/Berlin }\n');
    const { fleet } = await validateFleet(repo.dir);
    expect(fleet.rings.find((r) => r.name === 'prod')!.policy!.windows).toEqual([{ schedule: '0 9 * * 1-4', duration: '7h', timeZone: 'Europe/Berlin' }]);
  });

  it('refuses a bad cron schedule at its line and column with the reason', async () => {
    repo = withWindow('        - schedule: "0 25 * * 1-4"\n          duration: 7h\n');
    const [issue] = await issuesOf(repo.dir);
    expect(issue!.message).toMatch(/not a valid cron expression.*hour/);
    expect(issue!.location).toMatchObject({ file: 'ringmaster.yaml', line: expect.any(Number), column: expect.any(Number) });
  });

  it('refuses a schedule with the wrong number of fields', async () => {
    repo = withWindow('        - { schedule: "9 * *", duration: 7h }\n');
    const [issue] = await issuesOf(repo.dir);
    expect(issue!.message).toContain('5 fields');
  });

  it('refuses an unknown time zone and a zero or malformed duration', async () => {
    repo = withWindow('        - { schedule: "0 9 * * 1-4", duration: 0s, timeZone: Europe/Atlantis }\n        - { schedule: "0 9 * * 1-4", duration: 7 hours }\n');
    const issues = await issuesOf(repo.dir);
    const messages = issues.map((i) => i.message).join('\n');
    expect(messages).toContain('not a known IANA time zone');
    expect(messages).toContain('longer than zero');
    expect(messages).toContain('must be a duration');
    for (const i of issues) expect(i.location).toMatchObject({ file: 'ringmaster.yaml', line: expect.any(Number), column: expect.any(Number) });
  });
});
