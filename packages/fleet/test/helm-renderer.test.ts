import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetValidationError, instanceInputs, loadFleet, Renderer, renderFleet, type Fleet, type FleetIssue, type HelmRendererKind } from '@ringmaster/fleet';
import { helmRun } from '../src/helm.ts';
import { helmRenderer } from '../src/helm-renderer.ts';
import { runTool } from '../src/tools.ts';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

// A fleet of our own around one realistic chart (apps/ledger/chart): a library-chart dependency
// with named templates, an aliased subchart behind a condition with import-values, `tpl`, `range`
// over maps, `required`, `lookup` (empty in helm template), `.Files.Get` / `.Files.Glob`, a CRD in
// crds/, hooks (a pre-install Job, a test Pod), NOTES.txt, values.schema.json and .Capabilities.
// Two apps use the chart, one without its CRDs and with a fixed release name.
const FLEET = join(import.meta.dirname, 'fixtures', 'helm-renderer', 'fleet');
const CLI = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'ringmaster.js');

let repo: TempRepo;
beforeEach(() => {
  repo = new TempRepo(FLEET);
});
afterEach(() => repo.cleanup());

/** What helm template prints for an instance, and what the renderer prints for it. */
async function bothWays(fleet: Fleet, name: string): Promise<{ engine: string; reference: string }> {
  const inputs = instanceInputs(fleet, name);
  const run = helmRun(fleet, inputs);
  const chart = await fleet.source.materialize(inputs.app.sourceDir);
  const [engine, reference] = await Promise.all([
    helmRenderer().render({ chart, chartKey: fleet.source.folderHash(inputs.app.sourceDir), release: run.release, namespace: run.namespace, values: run.input, includeCRDs: run.includeCRDs, kubeVersion: run.kubeVersion, apiVersions: run.apiVersions, timeoutMs: 30_000 }),
    runTool('helm', ['template', run.release, chart, ...run.flags, '--values', '-'], { envVar: 'RINGMASTER_HELM', what: 'helm', input: run.input }),
  ]);
  expect(reference.code, reference.stderr).toBe(0);
  expect(engine.error).toBeUndefined();
  return { engine: engine.output!, reference: reference.stdout };
}

async function issuesOf(fleet: Fleet, renderer: Renderer, names?: string[]): Promise<FleetIssue[]> {
  try {
    await renderFleet(fleet, names, renderer);
  } catch (e) {
    if (e instanceof FleetValidationError) return e.issues;
    throw e;
  }
  throw new Error('the fleet rendered without an issue');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the renderer on Helm\'s Go engine prints what `helm template` prints', () => {
  it('byte for byte, for every instance, one after another and all at once', async () => {
    const fleet = await loadFleet(repo.dir);
    const names = [...fleet.instances.keys()].sort();
    const sequential: Record<string, string> = {};
    for (const n of names) {
      const { engine, reference } = await bothWays(fleet, n);
      expect(engine, n).toBe(reference);
      sequential[n] = engine;
    }
    // Concurrently in one process (a render's chart is its own: conditions and aliases change it).
    const concurrent = await Promise.all(names.map((n) => bothWays(fleet, n)));
    concurrent.forEach(({ engine, reference }, i) => {
      expect(engine, names[i]).toBe(reference);
      expect(engine, names[i]).toBe(sequential[names[i]!]);
    });

    // The charts' features are really exercised by these instances.
    expect(sequential['acme-dev']).toContain('# Source: ledger/crds/ledgertenants.yaml');
    expect(sequential['hooli-dev']).not.toContain('CustomResourceDefinition');
    expect(sequential['acme-dev']).toContain('# Source: ledger/charts/sessioncache/templates/cache.yaml');
    expect(sequential['initech-prod']).not.toContain('sessioncache');
    expect(sequential['acme-dev']).toContain('session.cache=redis://acme-dev-sessioncache:6379');
    expect(sequential['acme-dev']).toContain('kind: ServiceMonitor');
    expect(sequential['acme-prod']).not.toContain('kind: ServiceMonitor');
    expect(sequential['acme-prod']).toContain('value: "fast-close,premium"');
    expect(sequential['initech-prod']).toContain('cache-bytes: "2.68435456e+08"');
    expect(sequential['globex-prod']).not.toContain('helm.sh/hook: pre-install');
    expect(sequential['acme-dev']).toContain('helm.sh/hook: test');
    expect(sequential['acme-dev']).toContain('ledger.audit=verbose');
    expect(sequential['acme-dev']).toContain('audit.xml: |\n    <audit retentionDays="400" sink="stdout"/>');
    expect(sequential['acme-dev']).toContain('apiVersion: policy/v1\nkind: PodDisruptionBudget');
    expect(sequential['hooli-prod']).toContain('banner: "Ledger 7.2.0 for hooli in ledger-hooli-prod"');
  });

  it('gives the same rendered objects as `helm template` through the whole fleet', async () => {
    const fleet = await loadFleet(repo.dir);
    const engine = await renderFleet(fleet, undefined, new Renderer(fleet, { helm: { renderer: 'engine' } }));
    const reference = await renderFleet(fleet, undefined, new Renderer(fleet, { helm: { renderer: 'template' } }));
    expect(engine).toEqual(reference);
    expect(engine.find((r) => r.instance === 'acme-prod')!.objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['CustomResourceDefinition', 'LedgerTenant', 'StatefulSet', 'Job', 'Pod', 'PodDisruptionBudget']),
    );
  });

  it("renders the example fleet's Helm app through the renderer, as `helm template` does", async () => {
    const fleet = await loadFleet(EXAMPLE_FLEET);
    const names = [...fleet.instances.values()].filter((i) => fleet.apps.get(i.app)!.source.type === 'helm').map((i) => i.name);
    expect(names.length).toBeGreaterThan(0);
    const engine = await renderFleet(fleet, names, new Renderer(fleet));
    expect(helmRenderer().pid).toBeDefined();
    expect(engine).toEqual(await renderFleet(fleet, names, new Renderer(fleet, { helm: { renderer: 'template' } })));
  });

  it('is used unless ringmaster.yaml chooses helm template', async () => {
    repo.write('ringmaster.yaml', repo.read('ringmaster.yaml') + 'helm: { renderer: template }\n');
    // A renderer binary that does not exist shows which one is asked for.
    process.env.RINGMASTER_HELM_RENDERER = join(repo.dir, 'no-such-renderer');
    try {
      const [r] = await renderFleet(await loadFleet(repo.dir), ['acme-dev']);
      expect(r!.objects.length).toBeGreaterThan(10);
      repo.edit('ringmaster.yaml', 'helm: { renderer: template }\n', '');
      await expect(renderFleet(await loadFleet(repo.dir), ['acme-dev'])).rejects.toThrow(/the helm renderer is not built: looked for "helm-renderer" in RINGMASTER_HELM_RENDERER=/);
    } finally {
      delete process.env.RINGMASTER_HELM_RENDERER;
    }
  });
});

describe('bad input', () => {
  it('a failing template: names the instance and the template line, writes nothing, renders the others', async () => {
    repo.write('apps/ledger/chart/templates/quota.yaml', '{{- if eq .Values.tenant.tier "premium" }}\n{{- fail "premium tenants need a quota: set quota.cpu" }}\n{{- end }}\n');
    repo.commit('a quota check');
    const fleet = await loadFleet(repo.dir);
    await renderFleet(fleet, ['acme-dev'], new Renderer(fleet));
    const before = helmRenderer().pid;
    expect(before).toBeDefined();
    const issues = await issuesOf(fleet, new Renderer(fleet));
    expect(issues.map((i) => [i.code, i.location?.file, i.location?.line])).toEqual([
      ['helm-failed', 'apps/ledger/chart/templates/quota.yaml', 2],
      ['helm-failed', 'apps/ledger/chart/templates/quota.yaml', 2],
    ]);
    expect(issues.map((i) => i.message.match(/instance "([^"]+)"/)?.[1]).sort()).toEqual(['acme-prod', 'hooli-prod']);
    expect(issues[0]!.message).toContain('premium tenants need a quota');
    // The renderer answered the error and rendered the rest in the same process.
    const rendered = await renderFleet(fleet, ['acme-dev', 'globex-prod', 'hooli-dev', 'initech-prod'], new Renderer(fleet));
    expect(rendered).toHaveLength(4);
    expect(helmRenderer().pid).toBe(before);

    // The CLI writes nothing, says where, and exits (its idle renderer does not keep it running).
    const out = join(repo.dir, '..', `out-${process.pid}-${Date.now()}`);
    const cli = spawnSync(process.execPath, [CLI, 'render', '--repo', repo.dir, '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(cli.status, cli.stderr).toBe(1);
    expect(cli.stderr).toContain('apps/ledger/chart/templates/quota.yaml:2:');
    expect(cli.stderr).toContain('instance "acme-prod"');
    expect(existsSync(out)).toBe(false);
  });

  it("a value of the wrong type for the chart's schema: names the instance, points at values.schema.json", async () => {
    repo.edit('instances/ledger.yaml', 'backend-0: { role: backend, replicas: 1,', 'backend-0: { role: backend, replicas: "one",');
    const fleet = await loadFleet(repo.dir);
    const issues = await issuesOf(fleet, new Renderer(fleet));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'helm-failed', location: { file: 'apps/ledger/chart/values.schema.json', line: 1, column: 1 } });
    expect(issues[0]!.message).toContain('instance "globex-prod"');
    expect(issues[0]!.message).toMatch(/replicas/);
    const reference = await issuesOf(fleet, new Renderer(fleet, { helm: { renderer: 'template' } }));
    expect(issues).toEqual(reference);
  });

  for (const renderer of ['engine', 'template'] as HelmRendererKind[]) {
    it(`a template that loops for ever (${renderer}): fails its instance at the time limit, the others render`, async () => {
      repo.write('ringmaster.yaml', repo.read('ringmaster.yaml') + 'helm: { timeoutSeconds: 2 }\n');
      repo.write('apps/ledger/chart/templates/warmup.yaml', '{{- if .Values.tenant.warmup }}\n{{- range until 1000000 }}{{- range until 1000000 }}{{- end }}{{- end }}\n{{- end }}\n');
      repo.edit('instances/ledger.yaml', 'config:\n    banner:', 'tenant: { warmup: true }\n  config:\n    banner:');
      const fleet = await loadFleet(repo.dir);
      await renderFleet(fleet, ['acme-dev'], new Renderer(fleet, { helm: { renderer } }));
      const before = helmRenderer().pid;
      const issues = await issuesOf(fleet, new Renderer(fleet, { helm: { renderer } }));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ code: 'helm-timeout', location: { file: 'apps/ledger/chart/Chart.yaml', line: 1, column: 1 } });
      expect(issues[0]!.message).toContain('instance "initech-prod"');
      expect(issues[0]!.message).toContain('did not finish within 2s');
      expect(issues[0]!.hint).toContain('helm.timeoutSeconds');
      if (renderer === 'engine') {
        // The process with the runaway template is replaced, and goes (the runaway with it).
        expect(before).toBeDefined();
        await expect.poll(() => alive(before!), { timeout: 20_000 }).toBe(false);
        const [r] = await renderFleet(fleet, ['acme-prod'], new Renderer(fleet));
        expect(r!.instance).toBe('acme-prod');
        expect(helmRenderer().pid).not.toBe(before);
      }
    });
  }

  it('a chart outside the repository: names the instance and the link, renders the others', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'ringmaster-outside-chart-'));
    try {
      repo.write('apps/reports/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: reports\nsource: { type: helm, chart: chart }\n');
      repo.write('apps/reports/chart/Chart.yaml', 'apiVersion: v2\nname: reports\nversion: 1.0.0\n');
      repo.write('instances/reports.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: reports-dev\napp: reports\ncluster: dev-eu-1\n');
      symlinkSync(outside, join(repo.dir, 'apps/reports/chart/templates'));
      const fleet = await loadFleet(repo.dir);
      const issues = await issuesOf(fleet, new Renderer(fleet));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ code: 'symlink-escapes', location: { file: 'apps/reports/chart/templates', line: 1, column: 1 } });
      expect(issues[0]!.message).toContain('rendering instance "reports-dev"');
      expect(await renderFleet(fleet, ['acme-dev', 'hooli-dev'], new Renderer(fleet))).toHaveLength(2);

      // A chart path that leaves the repository is refused when the fleet is read, at its field.
      repo.remove('apps/reports/chart');
      repo.edit('apps/reports/app.yaml', 'chart: chart', 'chart: ../../../elsewhere/chart');
      await expect(loadFleet(repo.dir)).rejects.toMatchObject({
        issues: expect.arrayContaining([expect.objectContaining({ code: 'path-escapes', location: { file: 'apps/reports/app.yaml', line: 4, column: 30 } })]),
      });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('the renderer process', () => {
  it('is started again when it dies, and renders held at that moment are sent again', async () => {
    const fleet = await loadFleet(repo.dir);
    await renderFleet(fleet, ['acme-dev'], new Renderer(fleet));
    const first = helmRenderer().pid!;
    process.kill(first, 'SIGKILL');
    await expect.poll(() => alive(first)).toBe(false);
    const [again] = await renderFleet(fleet, ['acme-dev'], new Renderer(fleet));
    expect(again!.objects.length).toBeGreaterThan(10);
    const second = helmRenderer().pid!;
    expect(second).not.toBe(first);

    // Killed while it holds renders: each is answered, by the next process.
    const inputs = instanceInputs(fleet, 'acme-prod');
    const run = helmRun(fleet, inputs);
    const chart = await fleet.source.materialize(inputs.app.sourceDir);
    const req = { chart, chartKey: 'k', release: run.release, namespace: run.namespace, values: run.input, includeCRDs: true, kubeVersion: run.kubeVersion, apiVersions: run.apiVersions, timeoutMs: 30_000 };
    const held = Array.from({ length: 6 }, () => helmRenderer().render(req));
    process.kill(second, 'SIGKILL');
    const answers = await Promise.all(held);
    expect(new Set(answers.map((a) => a.output)).size).toBe(1);
    expect(answers[0]!.output).toContain('kind: LedgerTenant');
    expect(helmRenderer().pid).not.toBe(second);
  });
});
