import { describe, expect, it } from 'vitest';
import { applyObjects, refOf } from '../src/index.ts';
import { freshNamespace, useLocalKube, webApp } from './helpers.ts';

describe('server-side apply against a real kube-apiserver', () => {
  const kube = useLocalKube();

  it('creates a Deployment, Service and ConfigMap, and a second apply of the same set writes nothing', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'apply');
    const first = await applyObjects(client, webApp(ns));
    expect(first.objects.map((o) => [o.ref.kind, o.action])).toEqual([['ConfigMap', 'create'], ['Service', 'create'], ['Deployment', 'create']]);

    const before = await Promise.all(webApp(ns).map((o) => client.get(refOf(o))));
    const second = await applyObjects(client, webApp(ns));
    expect(second.objects.every((o) => o.action === 'unchanged')).toBe(true);
    const after = await Promise.all(webApp(ns).map((o) => client.get(refOf(o))));
    expect(after.map((o) => o?.metadata.resourceVersion)).toEqual(before.map((o) => o?.metadata.resourceVersion));
    expect(after[2]?.metadata.managedFields?.some((m) => m.manager === 'ringmaster' && m.operation === 'Apply')).toBe(true);
  });

  it('applies a Namespace before the objects inside it, whatever the input order', async () => {
    const { client } = kube();
    const ns = `ordered-${process.pid}`;
    const objects = [...webApp(ns), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }];
    const result = await applyObjects(client, objects);
    expect(result.objects[0]).toMatchObject({ ref: { kind: 'Namespace', name: ns }, action: 'create' });
    expect(await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })).toBeDefined();
  });

  it('dry run reports what would change and writes nothing', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'dryrun');
    const planned = await applyObjects(client, webApp(ns), { dryRun: true });
    expect(planned.objects.map((o) => o.action)).toEqual(['create', 'create', 'create']);
    expect(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' })).toBeUndefined();

    await applyObjects(client, webApp(ns));
    const changed = webApp(ns, 3);
    const dry = await applyObjects(client, changed, { dryRun: true });
    const byKind = Object.fromEntries(dry.objects.map((o) => [o.ref.kind, o]));
    expect(byKind.ConfigMap?.action).toBe('unchanged');
    expect(byKind.Service?.action).toBe('unchanged');
    expect(byKind.Deployment?.action).toBe('update');
    expect(byKind.Deployment?.changedPaths).toContain('spec.replicas');
    const live = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
    expect((live?.spec as { replicas: number }).replicas).toBe(2);
  });

  it('dry run of a namespace and its content reports both as create without failing', async () => {
    const { client } = kube();
    const ns = `dry-new-${process.pid}`;
    const dry = await applyObjects(client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, ...webApp(ns)], { dryRun: true });
    expect(dry.objects.map((o) => o.action)).toEqual(['create', 'create', 'create', 'create']);
    expect(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })).toBeUndefined();
  });

  it('puts namespaced objects without a namespace into the given one, and leaves cluster-scoped ones alone', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'defaultns');
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `reader-${ns}` }, rules: [] };
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain' }, data: {} };
    const result = await applyObjects(client, [role, cm], { namespace: ns });
    expect(Object.fromEntries(result.objects.map((o) => [o.ref.kind, o.ref.namespace]))).toEqual({ ClusterRole: undefined, ConfigMap: ns });
    expect(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'plain' })).toBeDefined();
  });

  it('rejects an object without a name with a precise error', async () => {
    const { client } = kube();
    await expect(applyObjects(client, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }])).rejects.toThrow(/ConfigMap \(v1\) has no metadata.name/);
  });
});
