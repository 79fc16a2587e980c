import { afterEach, describe, expect, it } from 'vitest';
import { FleetValidationError, validateFleet, type FleetIssue } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

// An app's release.overlap policy (queue | supersede): read from app.yaml, a bad value points at its file:line:column.
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

const append = (r: TempRepo, text: string) => r.edit('apps/appserver/app.yaml', 'kind: App\n', `kind: App\n${text}`);

describe("an app's release policy", () => {
  it('reads release.overlap', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    append(repo, 'release: { overlap: supersede }\n');
    const { fleet } = await validateFleet(repo.dir);
    expect(fleet.apps.get('appserver')!.release).toEqual({ overlap: 'supersede' });
  });

  it('refuses an unknown overlap value at its line and column, naming the allowed ones', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    append(repo, 'release:\n  overlap: replace\n');
    const issues = await issuesOf(repo.dir);
    expect(issues.map((i) => i.code)).toEqual(['invalid-field']);
    expect(issues[0]!.location).toEqual({ file: 'apps/appserver/app.yaml', line: 4, column: 12 });
    expect(issues[0]!.message).toContain('"queue"|"supersede"');
  });

  it('refuses an unknown field of the policy', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    append(repo, 'release: { overlap: queue, ring: prod }\n');
    expect((await issuesOf(repo.dir)).map((i) => i.code)).toEqual(['unknown-field']);
  });
});
