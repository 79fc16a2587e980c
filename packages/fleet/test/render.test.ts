import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFleet, renderFleet, writeRendered } from '@ringmaster/fleet';
import { LABELS } from '@ringmaster/kube-common';
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
    const role = (r: typeof hooli, name: string) => obj(r, `appcluster.ringmaster.dev_${r!.instance}_appserver.yaml`).spec.roles.find((x: { name: string }) => x.name === name);
    // cluster layer: prod-eu-2 gives backends 6Gi; region: eu registry; ring: prod log level
    expect(role(hooli, 'backend').resources.limits.memory).toBe('6Gi');
    expect(role(umbrella, 'backend').resources.limits.memory).toBe('8Gi');
    expect(role(hooli, 'backend').image).toBe('registry.eu.example.net/appserver:7.4.1');
    expect(obj(hooli, 'configmap_appserver-hooli_appserver-config.yaml').data.logLevel).toBe('warn');
    // instance layer beats ring layer; whole-scalar substitution keeps the number type
    expect(role(umbrella, 'frontend').replicas).toBe(6);
    expect(role(hooli, 'frontend').replicas).toBe(3);
    expect(role(acme, 'backend').replicas).toBe(1);
    // ... and the boolean type; quoted substitution stays a string
    expect(obj(acme, 'appcluster.ringmaster.dev_appserver-acme_appserver.yaml').spec.cache.stopBuilderWhenReady).toBe(true);
    expect(obj(acme, 'configmap_appserver-acme_appserver-config.yaml').data.stopSynchronizerWhenReady).toBe('true');
  });

  it('puts stable app and instance labels on every object and nothing per-commit', async () => {
    const rendered = await renderFleet(await loadFleet(EXAMPLE_FLEET));
    for (const r of rendered) {
      for (const o of r.objects) {
        expect(o.object.metadata.labels?.[LABELS.app], o.file).toBe(r.app);
        expect(o.object.metadata.labels?.[LABELS.instance], o.file).toBe(r.instance);
        expect(o.yaml).not.toMatch(/[0-9a-f]{40}/);
      }
    }
  });

  it('orders objects CRDs first, then Namespaces, then by kind', async () => {
    const [r] = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['appserver-globex']);
    expect(r!.objects.map((o) => `${o.kind}/${o.name}`)).toEqual(['Namespace/appserver-globex', 'ConfigMap/appserver-config', 'AppCluster/appserver']);
    const [op] = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['ringmaster-operator-canary-eu-1']);
    const kinds = op!.objects.map((o) => o.kind);
    expect(kinds.slice(0, 3)).toEqual(['CustomResourceDefinition', 'CustomResourceDefinition', 'Namespace']);
    expect(kinds.at(-1)).toBe('Deployment');
  });

  it('applies JSON 6902 patches per instance, to an AppCluster too', async () => {
    const [wayne, edge] = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['appserver-wayne', 'edge-proxy-prod-us-1']);
    const app = wayne!.objects.find((o) => o.kind === 'AppCluster')!.object as any;
    const fe = app.spec.roles.find((r: { name: string }) => r.name === 'frontend');
    expect(fe.env).toEqual([{ name: 'TENANT', value: 'appserver-wayne' }, { name: 'PUBLIC_HOST', value: 'appserver-wayne.us.example.net' }, { name: 'DEDICATED', value: 'true' }]);
    expect(fe.image).toContain('appserver:7.4.1');
    expect(app.spec.nodes).toEqual([{ name: 'frontend-2', traffic: 'dark' }]);
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
      repo.write(file, 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: synchronizer\nspec:\n  serviceName: synchronizer\n  selector:\n    matchLabels: { app: synchronizer }\n  template:\n    metadata:\n      labels: { app: synchronizer }\n    spec:\n      containers:\n        - { name: appserver, image: appserver:1 }\n  volumeClaimTemplates:\n    - metadata:\n        name: cache\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources: { requests: { storage: 1Gi } }\n');
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
