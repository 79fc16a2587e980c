import { afterEach, describe, expect, it } from 'vitest';
import { FleetValidationError, loadFleet, type FleetIssue } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

async function issuesOf(dir: string): Promise<FleetIssue[]> {
  try {
    await loadFleet(dir);
  } catch (e) {
    if (e instanceof FleetValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected the fleet to be invalid');
}

const withNotifications = (text: string) => {
  repo = new TempRepo(EXAMPLE_FLEET);
  repo.write('ringmaster.yaml', `${repo.read('ringmaster.yaml').trimEnd()}\nnotifications:\n${text}`);
  repo.commit('notifications');
};

describe('notifications and ring alert policy in ringmaster.yaml', () => {
  it('reads notifications whose URL comes from the environment or a secret file, and a ring alerts policy', async () => {
    withNotifications('  - name: slack\n    events: [halted, rolled_back]\n    format: slack\n    url: { env: SLACK_HOOK }\n    rings: [prod]\n    apps: [appserver]\n'
      + '  - name: teams\n    events: [succeeded]\n    format: teams\n    url: { file: /run/secrets/teams }\n');
    repo.edit('ringmaster.yaml', '      autoRollback: true\n', '      autoRollback: true\n      alerts: { action: pause }\n');
    repo.commit('alerts policy');
    const fleet = await loadFleet(repo.dir);
    expect(fleet.notifications?.map((n) => [n.name, n.url])).toEqual([['slack', { env: 'SLACK_HOOK' }], ['teams', { file: '/run/secrets/teams' }]]);
    expect(fleet.rings[0]!.policy?.alerts).toEqual({ action: 'pause' });
  });

  it('refuses a literal webhook URL at its line and column, saying where the URL belongs', async () => {
    withNotifications('  - name: slack\n    events: [halted]\n    format: slack\n    url: https://hooks.example.net/T000/B000/XXXX\n');
    const issues = await issuesOf(repo.dir);
    const issue = issues.find((i) => i.message.includes('may not be written in the fleet repo'));
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue!.location).toMatchObject({ file: 'ringmaster.yaml' });
    expect(issue!.location!.line).toBeGreaterThan(1);
    expect(issue!.message).toContain('{ env: NAME }');
  });

  it('refuses an unknown ring or app in a notification, naming it', async () => {
    withNotifications('  - name: slack\n    events: [halted]\n    format: generic\n    url: { env: HOOK }\n    rings: [prd]\n    apps: [nope]\n');
    const messages = (await issuesOf(repo.dir)).map((i) => i.message);
    expect(messages).toContain('notification "slack" refers to ring "prd", which does not exist');
    expect(messages).toContain('notification "slack" refers to app "nope", which does not exist');
  });

  it('refuses an unknown alerts action', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('ringmaster.yaml', '      autoRollback: true\n', '      autoRollback: true\n      alerts: { action: ignore }\n');
    repo.commit('bad alerts policy');
    expect((await issuesOf(repo.dir)).some((i) => i.message.includes('alerts.action'))).toBe(true);
  });
});
