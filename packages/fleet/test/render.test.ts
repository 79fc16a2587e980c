import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { LABEL_APP, LABEL_INSTANCE, loadFleet, renderFleet, writeRendered } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

const GOLDEN = join(import.meta.dirname, 'fixtures', 'render', 'golden');
const out = mkdtempSync(join(tmpdir(), 'ringmaster-render-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

describe('render', () => {
  it('matches the golden files for the example fleet (UPDATE_GOLDEN=1 rewrites them)', async () => {
    const rendered = await renderFleet(await loadFleet(EXAMPLE_FLEET));
    await writeRendered(join(out, 'example'), rendered);
    const actual = tree(join(out, 'example'));
    if (process.env.UPDATE_GOLDEN) {
      rmSync(GOLDEN, { recursive: true, force: true });
      for (const [p, text] of actual) {
        mkdirSync(join(GOLDEN, p, '..'), { recursive: true });
        writeFileSync(join(GOLDEN, p), text);
      }
    }
    expect(existsSync(GOLDEN)).toBe(true);
    const golden = tree(GOLDEN);
    expect([...actual.keys()].sort()).toEqual([...golden.keys()].sort());
    for (const [p, text] of actual) expect(text, p).toBe(golden.get(p));
  });

  it('is deterministic: rendering twice gives byte-identical output', async () => {
    const a = await renderFleet(await loadFleet(EXAMPLE_FLEET));
    const b = await renderFleet(await loadFleet(EXAMPLE_FLEET));
    expect(a.map((r) => r.objects.map((o) => o.yaml))).toEqual(b.map((r) => r.objects.map((o) => o.yaml)));
    expect(a.map((r) => r.inputHash)).toEqual(b.map((r) => r.inputHash));
  });

  it('layers values app → ring → region → cluster → instance', async () => {
    const fleet = await loadFleet(EXAMPLE_FLEET);
    const [hooli, umbrella, acme] = await renderFleet(fleet, ['appserver-hooli', 'appserver-umbrella', 'appserver-acme']);
    const obj = (r: typeof hooli, file: string) => r!.objects.find((o) => o.file === file)!.object as any;
    // cluster layer: prod-eu-2 gives backends 6Gi; region: eu registry; ring: prod log level
    expect(obj(hooli, 'statefulset.apps_appserver-hooli_backend.yaml').spec.template.spec.containers[0].resources.limits.memory).toBe('6Gi');
    expect(obj(umbrella, 'statefulset.apps_appserver-umbrella_backend.yaml').spec.template.spec.containers[0].resources.limits.memory).toBe('8Gi');
    expect(obj(hooli, 'statefulset.apps_appserver-hooli_backend.yaml').spec.template.spec.containers[0].image).toBe('registry.eu.example.net/appserver:7.4.1');
    expect(obj(hooli, 'configmap_appserver-hooli_appserver-config.yaml').data.logLevel).toBe('warn');
    // instance layer beats ring layer; whole-scalar substitution keeps the number type
    expect(obj(umbrella, 'deployment.apps_appserver-umbrella_frontend.yaml').spec.replicas).toBe(6);
    expect(obj(hooli, 'deployment.apps_appserver-hooli_frontend.yaml').spec.replicas).toBe(3);
    expect(obj(acme, 'statefulset.apps_appserver-acme_backend.yaml').spec.replicas).toBe(1);
    // quoted substitution stays a string
    expect(obj(acme, 'configmap_appserver-acme_appserver-config.yaml').data.stopSynchronizerWhenReady).toBe('true');
  });

  it('puts stable app and instance labels on every object and nothing per-commit', async () => {
    const rendered = await renderFleet(await loadFleet(EXAMPLE_FLEET));
    for (const r of rendered) {
      for (const o of r.objects) {
        expect(o.object.metadata.labels?.[LABEL_APP], o.file).toBe(r.app);
        expect(o.object.metadata.labels?.[LABEL_INSTANCE], o.file).toBe(r.instance);
        expect(o.yaml).not.toMatch(/[0-9a-f]{40}/);
      }
    }
  });

  it('orders objects Namespace first, then roles synchronizer → backend → frontend', async () => {
    const [r] = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['appserver-globex']);
    const kinds = r!.objects.map((o) => `${o.kind}/${o.name}`);
    expect(kinds[0]).toBe('Namespace/appserver-globex');
    const roles = r!.objects.map((o) => o.role).filter(Boolean);
    expect(roles).toEqual([...roles].sort((a, b) => ['synchronizer', 'backend', 'frontend'].indexOf(a!) - ['synchronizer', 'backend', 'frontend'].indexOf(b!)));
  });

  it('applies strategic-merge and JSON 6902 patches per instance', async () => {
    const [wayne, edge] = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['appserver-wayne', 'edge-proxy-prod-us-1']);
    const fe = wayne!.objects.find((o) => o.kind === 'Deployment')!.object as any;
    expect(fe.spec.template.spec.nodeSelector).toEqual({ pool: 'tenant-wayne' });
    const c = fe.spec.template.spec.containers;
    expect(c).toHaveLength(1); // merged by name, not appended
    expect(c[0].env).toEqual([{ name: 'DEDICATED', value: 'true' }]);
    expect(c[0].image).toContain('appserver:7.4.1');
    const svc = edge!.objects.find((o) => o.kind === 'Service')!.object as any;
    expect(svc.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/azure-load-balancer-internal': 'false' });
  });

  it('renders Kustomize and Helm sources with instance values', async () => {
    const [edge, agent] = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['edge-proxy-dev-eu-1', 'metrics-agent-dev-eu-1']);
    const dep = edge!.objects.find((o) => o.kind === 'Deployment')!.object as any;
    expect(dep.spec.replicas).toBe(1);
    expect(dep.metadata.namespace).toBe('edge');
    expect(edge!.objects.some((o) => o.kind === 'ConfigMap' && /^edge-proxy-routes-[a-z0-9]+$/.test(o.name))).toBe(true);
    const ds = agent!.objects.find((o) => o.kind === 'DaemonSet')!.object as any;
    expect(ds.metadata.namespace).toBe('monitoring');
    expect(ds.spec.template.spec.containers[0].env).toEqual([
      { name: 'CLUSTER', value: 'dev-eu-1' },
      { name: 'SCRAPE_INTERVAL', value: '10s' },
    ]);
  });

  it('warns, for Argo CD-mode clusters only, about a claim template Argo CD would keep OutOfSync', async () => {
    const repo = new TempRepo(EXAMPLE_FLEET);
    try {
      const file = 'apps/appserver/manifests/synchronizer.yaml';
      repo.write(file, repo.read(file).replace('    - apiVersion: v1\n      kind: PersistentVolumeClaim\n      metadata:', '    - metadata:'));
      const rendered = await renderFleet(await loadFleet(repo.dir), ['appserver-acme', 'appserver-globex']);
      const byInstance = Object.fromEntries(rendered.map((r) => [r.instance, r.warnings]));
      expect(byInstance['appserver-acme']).toEqual([]); // dev-eu-1: direct mode
      expect(byInstance['appserver-globex']).toEqual([expect.objectContaining({
        code: 'claim-template-without-kind',
        message: expect.stringContaining('StatefulSet "synchronizer": volumeClaimTemplate "cache" has no apiVersion/kind'),
        location: expect.objectContaining({ file }),
      })]);
    } finally {
      repo.cleanup();
    }
  });

  it('renders a Git revision exactly as the same files on disk', async () => {
    const repo = new TempRepo(EXAMPLE_FLEET);
    try {
      const sha = repo.commit('fleet');
      const fromDisk = await renderFleet(await loadFleet(repo.dir));
      const fromGit = await renderFleet(await loadFleet(repo.dir, sha));
      expect(fromGit.map((r) => r.objects.map((o) => o.yaml))).toEqual(fromDisk.map((r) => r.objects.map((o) => o.yaml)));
      for (const r of fromGit) for (const o of r.objects) expect(parse(o.yaml)).toEqual(o.object);
    } finally {
      repo.cleanup();
    }
  });
});
