import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadFleet, openSource, renderFleet } from '@ringmaster/fleet';
import { checkKustomization } from '../src/kustomize.ts';
import { pruneTrees, treesDir } from '../src/trees.ts';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';
import { addApp, CHART_YAML, issuesOf } from './fleet-app.ts';

const trees = mkdtempSync(join(tmpdir(), 'ringmaster-trees-test-'));
process.env.RINGMASTER_TREES = join(trees, 'trees');
const outside = mkdtempSync(join(tmpdir(), 'ringmaster-outside-'));
writeFileSync(join(outside, 'host-secret.txt'), 'root:x:0:0:host secret\n');
mkdirSync(join(outside, 'templates'));
writeFileSync(join(outside, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-outside\ndata:\n  a: "1"\n');
writeFileSync(join(outside, 'kustomization.yaml'), 'resources: [templates/cm.yaml]\n');
afterAll(() => {
  rmSync(trees, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

let repo: TempRepo;
afterEach(() => repo?.cleanup());

const LEAKY_CHART = {
  'chart/Chart.yaml': CHART_YAML,
  'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  passwd: {{ .Files.Get "passwd" | quote }}\n',
};

describe('extracting a Git revision', () => {
  it('extracts a new revision once when many renderers ask for it at the same moment', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    // Enough files that extractions overlap; each renderer reads the tree as soon as it has it.
    const body = (i: number) => `file ${i} ${'x'.repeat(4000)}\n`;
    for (let i = 0; i < 800; i++) repo.write(`apps/metrics-agent/chart/files/f${i}.txt`, body(i));
    const source = await openSource(repo.dir, repo.commit('new revision'));
    const dirs = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const dir = await source.materialize('apps/metrics-agent/chart');
        for (let i = 0; i < 800; i++) expect(readFileSync(join(dir, 'files', `f${i}.txt`), 'utf8')).toBe(body(i));
        return dir;
      }),
    );
    expect(new Set(dirs).size).toBe(1);
    const cache = dirname(dirs[0]!.slice(0, dirs[0]!.indexOf('/apps/')));
    expect(readdirSync(cache).filter((n) => n.includes('.partial-'))).toEqual([]);
  });

  it('keeps extractions in a folder only the user can read', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    await (await openSource(repo.dir, repo.commit('fleet'))).materialize('apps/metrics-agent/chart');
    expect(statSync(treesDir()).mode & 0o777).toBe(0o700);
  });

  it('removes extractions unused for a day and partial ones left by a crash, keeping recent ones', async () => {
    const dir = treesDir();
    mkdirSync(dir, { recursive: true });
    const old = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    for (const name of ['stale', 'crashed.partial-x']) {
      mkdirSync(join(dir, name));
      utimesSync(join(dir, name), old, old);
    }
    mkdirSync(join(dir, 'recent'));
    expect((await pruneTrees(dir)).sort()).toEqual(['crashed.partial-x', 'stale']);
    expect(existsSync(join(dir, 'recent'))).toBe(true);
  });
});

describe('files from outside the fleet repository', () => {
  it.each([
    ['a chart file read by .Files.Get', (r: TempRepo) => symlinkSync(join(outside, 'host-secret.txt'), join(r.dir, 'apps/leak/chart/passwd')), 'apps/leak/chart/passwd'],
    ['a template', (r: TempRepo) => symlinkSync(join(outside, 'templates', 'cm.yaml'), join(r.dir, 'apps/leak/chart/templates/outside.yaml')), 'apps/leak/chart/templates/outside.yaml'],
    ['the templates/ folder', (r: TempRepo) => (r.remove('apps/leak/chart/templates'), symlinkSync(join(outside, 'templates'), join(r.dir, 'apps/leak/chart/templates'))), 'apps/leak/chart/templates'],
  ])('refuses a symlink to %s, naming it, in a Git revision and on disk', async (_what, link, file) => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'leak', 'helm', LEAKY_CHART);
    link(repo);
    const expected = [expect.objectContaining({ code: 'symlink-escapes', location: { file, line: 1, column: 1 } })];
    expect(await issuesOf(async () => renderFleet(await loadFleet(repo.dir, repo.commit('leak')), ['leak-dev']))).toEqual(expected);
    expect(await issuesOf(async () => renderFleet(await loadFleet(repo.dir), ['leak-dev']))).toEqual(expected);
  });

  it('follows a symlink that stays inside the repository', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'leak', 'helm', LEAKY_CHART);
    repo.write('shared/passwd', 'shared inside the repo\n');
    symlinkSync('../../../shared/passwd', join(repo.dir, 'apps/leak/chart/passwd'));
    const [r] = await renderFleet(await loadFleet(repo.dir, repo.commit('inside')), ['leak-dev']);
    expect((r!.objects.find((o) => o.name === 'leak')!.object as unknown as { data: { passwd: string } }).data.passwd).toBe('shared inside the repo\n');
  });

  it('refuses a Kustomize resource outside the repository at its line', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const kdir = join(repo.dir, 'apps/kz/kustomize');
    addApp(repo, 'kz', 'kustomize', { 'kustomize/kustomization.yaml': `resources:\n  - cm.yaml\n  - ${relative(kdir, outside)}\n`, 'kustomize/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n' });
    const issues = await issuesOf(async () => renderFleet(await loadFleet(repo.dir), ['kz-dev']));
    expect(issues).toEqual([expect.objectContaining({ code: 'path-escapes', location: { file: 'apps/kz/kustomize/kustomization.yaml', line: 3, column: 5 } })]);
    repo.write('apps/kz/kustomize/kustomization.yaml', `resources:\n  - cm.yaml\n  - ${outside}\n`);
    const git = await issuesOf(async () => renderFleet(await loadFleet(repo.dir, repo.commit('absolute')), ['kz-dev']));
    expect(git).toEqual([expect.objectContaining({ code: 'path-escapes' })]);
  });

  it('refuses a remote Kustomize base unless the app allows remote bases', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const remote = 'github.com/example-org/platform//base?ref=v1.2.0';
    addApp(repo, 'kz', 'kustomize', { 'kustomize/kustomization.yaml': `resources:\n  - ${remote}\n` });
    const issues = await issuesOf(async () => renderFleet(await loadFleet(repo.dir), ['kz-dev']));
    expect(issues).toEqual([expect.objectContaining({ code: 'kustomize-remote', location: { file: 'apps/kz/kustomize/kustomization.yaml', line: 2, column: 5 } })]);
    await expect(checkKustomization(repo.dir, 'apps/kz/kustomize', true)).resolves.toBeUndefined();
  });
});

describe('symbolic links as fleet files', () => {
  it('are never read as manifests, in a Git revision as on disk', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    symlinkSync(join(outside, 'templates', 'cm.yaml'), join(repo.dir, 'apps/appserver/manifests/outside.yaml'));
    const sha = repo.commit('link');
    for (const rev of [sha, undefined]) {
      const [r] = await renderFleet(await loadFleet(repo.dir, rev), ['appserver-acme']);
      expect(r!.objects.map((o) => o.name)).not.toContain('from-outside');
    }
    expect((await openSource(repo.dir, sha)).files()).not.toContain('apps/appserver/manifests/outside.yaml');
  });
});
