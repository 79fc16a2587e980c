import { describe, expect, it } from 'vitest';
import { applyObjects, attributeField, detectDrift, refOf, type KubeObject } from '../src/index.ts';
import { freshNamespace, useLocalKube, webApp } from './helpers.ts';

describe('drift and field attribution against a real kube-apiserver', () => {
  const kube = useLocalKube();

  it('detects a change made by another field manager and names the path, the manager and the time', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'drift');
    const desired = webApp(ns);
    await applyObjects(client, desired);
    const deployment = desired.find((o) => o.kind === 'Deployment')!;

    // what `kubectl edit` does: read, change, PUT back as an Update by another manager
    const live = (await client.get(refOf(deployment)))!;
    const edited = structuredClone(live) as KubeObject & { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
    edited.spec.replicas = 5;
    edited.spec.template.spec.containers[0]!.image = 'nginx:1.28';
    const beforeEdit = Date.now();
    await client.update(edited, { fieldManager: 'kubectl-edit' });

    const after = (await client.get(refOf(deployment)))!;
    const drifts = detectDrift(deployment, after);
    expect(drifts.map((d) => d.path).sort()).toEqual(['spec.replicas', 'spec.template.spec.containers[name=web].image']);
    const replicas = drifts.find((d) => d.path === 'spec.replicas')!;
    expect(replicas).toMatchObject({ desired: 2, live: 5, manager: 'kubectl-edit', operation: 'Update' });
    // managedFields times have one-second precision
    expect(Date.parse(replicas.time!)).toBeGreaterThanOrEqual(Math.floor(beforeEdit / 1000) * 1000);
    expect(drifts.find((d) => d.path.endsWith('.image'))).toMatchObject({ desired: 'nginx:1.27', live: 'nginx:1.28', manager: 'kubectl-edit' });

    // fields nobody else touched stay attributed to ringmaster's apply
    expect(attributeField(after, 'spec.template.spec.containers[name=web].ports[containerPort=80,protocol=TCP].containerPort')).toMatchObject({ manager: 'ringmaster', operation: 'Apply' });
    expect(attributeField(after, 'metadata.labels.app')).toMatchObject({ manager: 'ringmaster' });
  });

  it('reports no drift for an object exactly as applied, although the server added defaults', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'nodrift');
    const desired = webApp(ns);
    await applyObjects(client, desired);
    for (const obj of desired) {
      expect(detectDrift(obj, (await client.get(refOf(obj)))!)).toEqual([]);
    }
  });

  it('re-applying with force takes the fields back and the drift disappears', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'heal');
    const desired = webApp(ns);
    await applyObjects(client, desired);
    const cm = desired.find((o) => o.kind === 'ConfigMap')!;
    await client.mergePatch(refOf(cm), { data: { greeting: 'hi from a hot-fix' } }, { fieldManager: 'hotfix' });
    expect(detectDrift(cm, (await client.get(refOf(cm)))!)).toMatchObject([{ path: 'data.greeting', live: 'hi from a hot-fix', manager: 'hotfix' }]);

    const result = await applyObjects(client, desired);
    expect(result.objects.find((o) => o.ref.kind === 'ConfigMap')?.action).toBe('update');
    const healed = (await client.get(refOf(cm)))!;
    expect(detectDrift(cm, healed)).toEqual([]);
    expect(attributeField(healed, 'data.greeting')?.manager).toBe('ringmaster');
  });
});
