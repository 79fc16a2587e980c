import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetValidationError, GitError, loadFleetFrom, openSource, renderFleet, validateFleet, writeRendered, type FleetIssue } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

async function issuesOf(dir: string, rev?: string): Promise<FleetIssue[]> {
  try {
    await validateFleet(dir, rev);
  } catch (e) {
    if (e instanceof FleetValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected the fleet to be invalid');
}

function only(issues: FleetIssue[], code: string): FleetIssue {
  const found = issues.filter((i) => i.code === code);
  expect(found, JSON.stringify(issues, null, 2)).toHaveLength(1);
  return found[0]!;
}

describe('validate', () => {
  it('accepts the example fleet', async () => {
    const { fleet, rendered } = await validateFleet(EXAMPLE_FLEET);
    expect(fleet.rings.map((r) => r.name)).toEqual(['dev', 'canary', 'prod']);
    expect(fleet.clusters.size).toBeGreaterThanOrEqual(6);
    expect(fleet.instances.size).toBeGreaterThanOrEqual(10);
    expect(new Set([...fleet.apps.values()].map((a) => a.source.type))).toEqual(new Set(['manifests', 'kustomize', 'helm']));
    expect(rendered.every((r) => r.objects.length > 0)).toBe(true);
  });

  it('points at the line and column of malformed YAML', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.write('clusters/dev.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Cluster\nname: dev-eu-1\nlabels: [unclosed\n');
    const issue = only(await issuesOf(repo.dir), 'yaml-syntax');
    expect(issue.location).toMatchObject({ file: 'clusters/dev.yaml', line: 5 });
  });

  it('points at a metric gate\'s bad threshold and unknown placeholder', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('ringmaster.yaml', '      waves: { size: 1 }\n', '      waves: { size: 1 }\n      metrics:\n        - { name: error-rate, query: \'sum(x{pod="{{pod}}"})\', threshold: {} }\n');
    const issues = await issuesOf(repo.dir);
    expect(issues.map((i) => [i.message, i.location])).toEqual([
      [expect.stringContaining('may use only the placeholders {{cluster}}, {{instance}}, {{ring}}, {{app}}'), expect.objectContaining({ file: 'ringmaster.yaml', line: 15 })],
      [expect.stringContaining('needs min, max or both'), expect.objectContaining({ file: 'ringmaster.yaml', line: 15 })],
    ]);
  });

  it('names an unknown field at its key', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('clusters/dev.yaml', 'region: eu-west\n', 'region: eu-west\nregoin: typo\n');
    const issue = only(await issuesOf(repo.dir), 'unknown-field');
    expect(issue.message).toContain('"regoin"');
    expect(issue.location).toEqual({ file: 'clusters/dev.yaml', line: 6, column: 1 });
  });

  it('reports a missing required field and a wrong enum value with a fix', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('clusters/dev.yaml', 'ring: dev\n', '');
    repo.edit('clusters/dev.yaml', 'mode: direct', 'mode: ssh');
    const issues = await issuesOf(repo.dir);
    expect(issues.map((i) => i.code).sort()).toEqual(['invalid-field', 'missing-field']);
    expect(issues.find((i) => i.code === 'missing-field')!.message).toContain('"ring"');
    const enumIssue = issues.find((i) => i.code === 'invalid-field')!;
    expect(enumIssue.location).toEqual({ file: 'clusters/dev.yaml', line: 9, column: 9 });
    expect(enumIssue.message).toContain("'argocd' | 'direct'");
  });

  it('refuses a reference to something that does not exist, suggesting what does', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('instances/appserver.yaml', 'cluster: dev-eu-1', 'cluster: dev-eu-9');
    const issue = only(await issuesOf(repo.dir), 'missing-reference');
    expect(issue.message).toBe('instance "appserver-acme" refers to cluster "dev-eu-9", which does not exist');
    expect(issue.hint).toContain('dev-eu-1');
    expect(issue.location).toEqual({ file: 'instances/appserver.yaml', line: 6, column: 10 });
  });

  it('refuses a cluster in a ring that is not declared', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('clusters/dev.yaml', 'ring: dev', 'ring: staging');
    expect(only(await issuesOf(repo.dir), 'missing-reference').message).toContain('ring "staging"');
  });

  it('refuses duplicate names, naming where the first one is', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('instances/appserver.yaml', 'name: appserver-globex', 'name: appserver-acme');
    const issue = only(await issuesOf(repo.dir), 'duplicate-name');
    expect(issue.hint).toContain('instances/appserver.yaml:4:7');
    expect(issue.location).toEqual({ file: 'instances/appserver.yaml', line: 13, column: 7 });
  });

  it('refuses a source path that escapes the repository', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('apps/appserver/app.yaml', 'path: manifests', 'path: ../../../etc');
    const issue = only(await issuesOf(repo.dir), 'path-escapes');
    expect(issue.location).toMatchObject({ file: 'apps/appserver/app.yaml', line: 8 });
  });

  it('refuses a source folder that does not exist', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('apps/appserver/app.yaml', 'path: manifests', 'path: manifest');
    expect(only(await issuesOf(repo.dir), 'missing-file').message).toContain('apps/appserver/manifest');
  });

  it('says where ringmaster.yaml is missing', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.remove('ringmaster.yaml');
    expect(only(await issuesOf(repo.dir), 'missing-file').message).toContain('ringmaster.yaml not found');
  });

  it('refuses an unknown value in a manifest at its file, line and column', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('apps/appserver/manifests/config.yaml', 'logLevel: ${logLevel}', 'logLevel: ${loglevel}');
    const issues = await issuesOf(repo.dir);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.code === 'unknown-value')).toBe(true);
    expect(issues[0]!.location).toEqual({ file: 'apps/appserver/manifests/config.yaml', line: 7, column: 13 });
  });

  it('refuses an object name that is not DNS-1123', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('apps/appserver/manifests/config.yaml', 'name: appserver-config', 'name: AppServer_Config');
    const found = (await issuesOf(repo.dir)).filter((i) => i.code === 'invalid-object');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.message).toContain('"AppServer_Config" is not a valid DNS-1123 subdomain');
    expect(found[0]!.location).toMatchObject({ file: 'apps/appserver/manifests/config.yaml', line: 1 });
  });

  it('refuses an object without kind', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('apps/appserver/manifests/config.yaml', 'kind: ConfigMap\n', '');
    expect((await issuesOf(repo.dir)).some((i) => i.message === 'object has no kind')).toBe(true);
  });

  it('refuses Secrets with literal data unless the app opts in', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.write('apps/appserver/manifests/secret.yaml', 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n');
    const found = (await issuesOf(repo.dir)).filter((i) => i.code === 'secret-literal');
    expect(found).toHaveLength(1); // one per place in the source, not per instance
    expect(found[0]!.location).toEqual({ file: 'apps/appserver/manifests/secret.yaml', line: 1, column: 1 });
    expect(found[0]!.hint).toContain('secrets.allowLiteral');
    repo.edit('apps/appserver/app.yaml', 'team: platform-apps\n', 'team: platform-apps\nsecrets:\n  allowLiteral: true\n');
    await expect(validateFleet(repo.dir)).resolves.toBeTruthy();
  });

  it('refuses two instances writing the same object into one cluster', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('instances/edge-proxy.yaml', 'cluster: prod-us-1', 'cluster: prod-eu-1');
    const issue = only(await issuesOf(repo.dir), 'duplicate-object');
    expect(issue.message).toMatch(/^instances "edge-proxy-prod-eu-1" and "edge-proxy-prod-us-1" both write 4 object\(s\) on cluster "prod-eu-1": ConfigMap edge\/edge-proxy-routes-\w+, Deployment edge\/edge-proxy, Namespace edge, Service edge\/edge-proxy$/);
  });

  it('fails on an unknown revision with the revision named', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.commit('fleet');
    await expect(validateFleet(repo.dir, 'no-such-branch')).rejects.toThrow(GitError);
    await expect(validateFleet(repo.dir, 'no-such-branch')).rejects.toThrow('unknown revision "no-such-branch"');
  });

  it('reads a revision without touching the work tree', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const sha = repo.commit('fleet');
    repo.write('clusters/dev.yaml', 'broken: [\n'); // uncommitted breakage
    const { fleet } = await validateFleet(repo.dir, sha);
    expect(fleet.source.revision).toBe(sha);
    expect(repo.git('status', '--porcelain')).toBe('M clusters/dev.yaml');
  });

  it('writes nothing when rendering fails', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const out = mkdtempSync(join(tmpdir(), 'ringmaster-out-'));
    try {
      mkdirSync(join(out, 'previous'));
      writeFileSync(join(out, 'previous', 'keep.yaml'), 'kept: true\n');
      repo.edit('apps/appserver/manifests/config.yaml', '${logLevel}', '${nope}');
      const fleet = await loadFleetFrom(await openSource(repo.dir));
      await expect(renderFleet(fleet).then((r) => writeRendered(out, r))).rejects.toThrow(FleetValidationError);
      expect(readdirSync(out)).toEqual(['previous']);
      expect(existsSync(join(out, 'previous', 'keep.yaml'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
  it('accepts drift rules on apps, instances and rings, and points at a malformed JSON pointer and an empty rule', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('apps/appserver/app.yaml', 'values:\n', 'drift:\n  selfHeal: true\n  ignore:\n    - kind: Deployment\n      jsonPointers: [/spec/replicas, "/spec/template/spec/containers/*/resources"]\n    - managers: [vpa-recommender]\nvalues:\n');
    const ok = await validateFleet(repo.dir);
    expect(ok.fleet.apps.get('appserver')!.drift).toEqual({ selfHeal: true, ignore: [{ kind: 'Deployment', jsonPointers: ['/spec/replicas', '/spec/template/spec/containers/*/resources'] }, { managers: ['vpa-recommender'] }] });
    repo.edit('apps/appserver/app.yaml', '/spec/replicas,', 'spec/replicas,');
    repo.edit('apps/appserver/app.yaml', '    - managers: [vpa-recommender]\n', '    - kind: Service\n');
    const issues = await issuesOf(repo.dir);
    const pointer = issues.find((i) => i.message.includes('JSON pointer'));
    expect(pointer?.location).toEqual({ file: 'apps/appserver/app.yaml', line: 24, column: 22 });
    const empty = issues.find((i) => i.message.includes('needs "jsonPointers"'));
    expect(empty?.location).toMatchObject({ file: 'apps/appserver/app.yaml', line: 25 });
  });
});
