import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetValidationError, loadFleet, renderFleet, type FleetIssue, type RenderedInstance } from '@ringmaster/fleet';
import { parse } from 'yaml';
import { writeBigCrdChart } from './big-chart.ts';
import { TempRepo } from './helpers.ts';

// A fleet of our own: a database chart (library-chart dependency, tpl, a crds/ folder, a hook Job
// with a shell script, a ServiceMonitor behind .Capabilities) and a CronJob of plain manifests.
const FLEET = join(import.meta.dirname, 'fixtures', 'helm', 'fleet');

let repo: TempRepo;
beforeEach(() => {
  repo = new TempRepo(FLEET);
});
afterEach(() => repo.cleanup());

async function render(name: string): Promise<RenderedInstance> {
  const [r] = await renderFleet(await loadFleet(repo.dir), [name]);
  return r!;
}

async function issuesOf(name: string): Promise<FleetIssue[]> {
  try {
    await renderFleet(await loadFleet(repo.dir), [name]);
  } catch (e) {
    if (e instanceof FleetValidationError) return e.issues;
    throw e;
  }
  throw new Error(`${name} rendered without an issue`);
}

const find = (r: RenderedInstance, kind: string) => r.objects.find((o) => o.kind === kind)!;

describe("Ringmaster's context never overrides a chart's or a manifest's values", () => {
  it("gives a chart the user's cluster.name and Ringmaster's context under .Values.ringmaster", async () => {
    const r = await render('orders-db-dev-1');
    const pg = find(r, 'PostgresCluster');
    expect(pg.name).toBe('orders-main');
    expect(pg.object.metadata.annotations).toMatchObject({ 'ringmaster-instance': 'orders-db-dev-1', 'ringmaster-cluster': 'dev-1' });
  });

  it("gives manifests the user's cluster.name, and the fleet's as ringmaster.cluster.name", async () => {
    const r = await render('backup-dev-1');
    const cj = find(r, 'CronJob').object as any;
    expect(cj.spec.jobTemplate.spec.template.spec.containers[0].env).toEqual([{ name: 'PGHOST', value: 'pg-orders' }]);
    expect(cj.metadata.annotations['fleet-cluster']).toBe('dev-1');
    expect(r.namespace).toBe('backup-dev-1');
  });

  it('refuses a values layer that sets the reserved key "ringmaster", at its line', async () => {
    repo.write('instances/backup.yaml', repo.read('instances/backup.yaml') + 'values:\n  ringmaster:\n    cluster: { name: other }\n');
    await expect(loadFleet(repo.dir)).rejects.toMatchObject({
      issues: [expect.objectContaining({ message: expect.stringContaining('"ringmaster" is reserved'), location: { file: 'instances/backup.yaml', line: 8, column: 5 } })],
    });
  });
});

describe("a chart's crds/ folder", () => {
  it('is rendered by default, its CRDs first in apply order, located at their file', async () => {
    const r = await render('orders-db-dev-1');
    expect(r.objects[0]).toMatchObject({ kind: 'CustomResourceDefinition', name: 'postgresclusters.db.example.net', origin: { file: 'apps/orders-db/chart/crds/postgresclusters.yaml' } });
    expect(r.objects.findIndex((o) => o.kind === 'PostgresCluster')).toBeGreaterThan(0);
  });

  it('is left out when the app sets includeCRDs: false', async () => {
    repo.edit('apps/orders-db/app.yaml', '  chart: chart\n', '  chart: chart\n  includeCRDs: false\n');
    const r = await render('orders-db-dev-1');
    expect(r.objects.map((o) => o.kind)).not.toContain('CustomResourceDefinition');
    expect(r.objects.map((o) => o.kind)).toContain('PostgresCluster');
  });
});

describe('the Kubernetes version charts see', () => {
  it('is the one helm was built for when nobody declares one, so kubeVersion: ">=1.21" renders', async () => {
    const r = await render('orders-db-dev-2');
    const version = String(find(r, 'PostgresCluster').object.metadata.annotations!['kube-version']);
    expect(version).toMatch(/^v1\.\d+\.\d+$/);
    expect(Number(version.split('.')[1])).toBeGreaterThanOrEqual(21);
    expect(r.objects.map((o) => o.kind)).not.toContain('ServiceMonitor');
  });

  it("is the cluster's declared version, with its API versions", async () => {
    const r = await render('orders-db-dev-1');
    expect(find(r, 'PostgresCluster').object.metadata.annotations!['kube-version']).toBe('v1.30.2');
    expect(r.objects.map((o) => o.kind)).toContain('ServiceMonitor');
  });

  it("is the fleet's when the cluster declares none", async () => {
    repo.write('ringmaster.yaml', repo.read('ringmaster.yaml') + 'kubernetes: { version: "1.29.0" }\n');
    const r = await render('orders-db-dev-2');
    expect(find(r, 'PostgresCluster').object.metadata.annotations!['kube-version']).toBe('v1.29.0');
  });

  it('names the cluster setting when a chart needs a newer Kubernetes than declared', async () => {
    repo.edit('clusters/dev.yaml', 'version: "1.30.2"', 'version: "1.20.4"');
    const [issue] = await issuesOf('orders-db-dev-1');
    expect(issue).toMatchObject({ code: 'helm-failed', location: { file: 'apps/orders-db/chart/Chart.yaml', line: 7, column: 1 } });
    expect(issue!.hint).toContain('kubernetes: { version:');
  });
});

describe('error locations', () => {
  it("points a patch error at the patch's own op, not at app.yaml:1:1", async () => {
    repo.edit('apps/backup/app.yaml', 'path: /spec/schedule', 'path: /spec/timing/schedule');
    const [issue] = await issuesOf('backup-dev-1');
    expect(issue).toMatchObject({ code: 'patch-failed', location: { file: 'apps/backup/app.yaml', line: 13, column: 9 } });
    expect(issue!.message).toContain('backup-dev-1');
  });

  it("points a patch that matches nothing at its target in the instance's file", async () => {
    repo.write('instances/backup.yaml', repo.read('instances/backup.yaml') + 'patches:\n  - target: { kind: CronJob, name: weekly }\n    patch: { spec: { suspend: true } }\n');
    const [issue] = await issuesOf('backup-dev-1');
    expect(issue).toMatchObject({ code: 'patch-failed', location: { file: 'instances/backup.yaml', line: 7, column: 13 } });
  });

  it('points a helm failure at the template line, names the instance and drops "Use --debug flag"', async () => {
    repo.edit('instances/orders-db.yaml', 'cluster: dev-1\n', 'cluster: dev-1\nvalues:\n  backup: { bucket: null }\n');
    const [issue] = await issuesOf('orders-db-dev-1');
    expect(issue).toMatchObject({ code: 'helm-failed', location: { file: 'apps/orders-db/chart/templates/backup-job.yaml', line: 21 } });
    expect(issue!.message).toContain('instance "orders-db-dev-1"');
    expect(issue!.message).toContain('backup.bucket is required');
    expect(issue!.message).not.toMatch(/--debug/);
  });

  it('points a Secret found in helm output at its template and names the instance', async () => {
    repo.edit('instances/orders-db.yaml', 'cluster: dev-1\n', 'cluster: dev-1\nvalues:\n  inlinePassword: correct-horse\n');
    const issues = await issuesOf('orders-db-dev-1');
    const secret = issues.find((i) => i.code === 'secret-literal')!;
    expect(secret.location).toEqual({ file: 'apps/orders-db/chart/templates/secret.yaml', line: 1, column: 1 });
    expect(secret.message).toContain('instance "orders-db-dev-1"');
  });

  it('keeps the template of every helm object on the rendered object', async () => {
    const r = await render('orders-db-dev-1');
    expect(find(r, 'Job').origin).toEqual({ file: 'apps/orders-db/chart/templates/backup-job.yaml', line: 1, column: 1 });
    expect(find(r, 'ConfigMap').object.data).toEqual({ motd: 'orders database in orders, release orders-db-dev-1' });
    expect(find(r, 'PostgresCluster').object.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'orders-db', 'app.kubernetes.io/version': '16.4' });
  });
});

describe('shell ${…} in manifests', () => {
  it('is left as it is, with located warnings instead of errors', async () => {
    const r = await render('backup-dev-1');
    const script = (find(r, 'CronJob').object as any).spec.jobTemplate.spec.template.spec.containers[0].command[2] as string;
    expect(script).toContain('mkdir -p "${PGDUMP_DIR}"');
    expect(script).toContain('PGPASSWORD="${PGPASSWORD:-}" pg_dump -h "$PGHOST" -f "${PGDUMP_DIR%/}/$(date +%F).sql"');
    expect(r.warnings.map((w) => [w.code, w.location?.file])).toEqual([
      ['shell-left-as-is', 'apps/backup/manifests/cronjob.yaml'],
      ['shell-left-as-is', 'apps/backup/manifests/cronjob.yaml'],
      ['shell-left-as-is', 'apps/backup/manifests/cronjob.yaml'],
    ]);
    expect(find(r, 'CronJob').object.spec).toMatchObject({ schedule: '30 2 * * *' });
  });
});

describe('a chart with about 1 MB of CRDs', () => {
  it('renders every CRD intact, first, from its own file', async () => {
    repo.write('apps/big/app.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: App\nname: big\nsource: { type: helm, chart: chart }\nnamespace: big\n');
    repo.write('instances/big.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: big-dev-1\napp: big\ncluster: dev-1\n');
    const bytes = writeBigCrdChart(join(repo.dir, 'apps/big/chart'));
    expect(bytes).toBeGreaterThan(900_000);
    const r = await render('big-dev-1');
    const crds = r.objects.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds).toHaveLength(6);
    expect(r.objects.slice(0, 6).every((o) => o.kind === 'CustomResourceDefinition')).toBe(true);
    const cluster = crds.find((o) => o.name === 'clusters.big.example.net')!;
    expect(cluster.origin).toEqual({ file: 'apps/big/chart/crds/crd-0.yaml', line: 1, column: 1 });
    expect(parse(cluster.yaml)).toEqual(cluster.object);
    expect(Object.isFrozen((cluster.object.spec as { versions: unknown[] }).versions)).toBe(true);
  });
});
