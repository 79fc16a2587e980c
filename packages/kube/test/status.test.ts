import { describe, expect, it } from 'vitest';
import { applyObjects, assessHealth, listEventsFor, observeObjects, patchStatus, recordEvent, refOf, type KubeObject } from '../src/index.ts';
import { freshNamespace, useLocalKube, webApp } from './helpers.ts';

const widgetCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.ringmaster.dev' },
  spec: {
    group: 'test.ringmaster.dev',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [{
      name: 'v1',
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: { type: 'object', properties: { size: { type: 'integer' } } },
            status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    }],
  },
};

describe('custom resources, status subresource and events against a real kube-apiserver', () => {
  const kube = useLocalKube();

  it('installs a CRD and a custom resource in one apply, then patches the status through the status subresource', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'crd');
    const widget: KubeObject = { apiVersion: 'test.ringmaster.dev/v1', kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size: 3 } };
    // the custom resource comes first in the input: apply order puts its CRD first and waits for it
    const result = await applyObjects(client, [widget, widgetCrd]);
    expect(result.objects.map((o) => o.ref.kind)).toEqual(['CustomResourceDefinition', 'Widget']);

    const patched = await patchStatus(client, refOf(widget), {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Built', message: 'all parts present', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    });
    expect((patched.status as { observedGeneration: number }).observedGeneration).toBe(1);
    const live = (await client.get(refOf(widget)))!;
    expect(assessHealth(live)).toMatchObject({ status: 'Healthy' });
    expect(live.metadata.managedFields?.find((m) => m.subresource === 'status')?.manager).toBe('ringmaster');

    // status written through the main resource is ignored by the server when the subresource exists
    await client.mergePatch(refOf(widget), { status: { observedGeneration: 99 } }, { fieldManager: 'someone' });
    expect(((await client.get(refOf(widget)))!.status as { observedGeneration: number }).observedGeneration).toBe(1);

    // a spec change makes the verdict Progressing until the status catches up
    await applyObjects(client, [{ ...widget, spec: { size: 4 } }]);
    expect(assessHealth((await client.get(refOf(widget)))!)).toMatchObject({ status: 'Progressing' });
  });

  it('reads and writes an Argo CD Application status exactly as Argo CD would', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'argo');
    const app: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'shop-prod-eu1', namespace: ns },
      spec: { project: 'default', source: { repoURL: 'https://git.example/manifests.git', path: 'eu1/shop', targetRevision: 'main' }, destination: { server: 'https://kubernetes.default.svc', namespace: 'shop' } },
    };
    await applyObjects(client, [app]);
    expect(assessHealth((await client.get(refOf(app)))!)).toMatchObject({ status: 'Progressing' });
    await patchStatus(client, refOf(app), { sync: { status: 'Synced', revision: 'abc123' }, health: { status: 'Degraded', message: 'Deployment shop has 0 available replicas' } }, { method: 'apply', fieldManager: 'argocd-application-controller' });
    const live = (await client.get(refOf(app)))!;
    expect(live.status).toMatchObject({ sync: { status: 'Synced', revision: 'abc123' } });
    expect(assessHealth(live)).toEqual({ status: 'Degraded', reason: 'Argo CD reports Degraded: Deployment shop has 0 available replicas' });
  });

  it('observes an instance as Progressing until its Deployment reports a finished rollout, then Healthy and in sync', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'observe');
    const desired = webApp(ns);
    expect((await observeObjects(client, desired)).health.status).toBe('Missing');
    await applyObjects(client, desired);
    // no controllers run here: the Deployment stays without status until someone writes it
    const first = await observeObjects(client, desired);
    expect(first.health).toEqual({ status: 'Progressing', reason: 'Deployment web: 0 of 2 replicas updated' });
    expect(first.inSync).toBe(true);

    const dep = desired.find((o) => o.kind === 'Deployment')!;
    await patchStatus(client, refOf(dep), { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }, { fieldManager: 'kube-controller-manager' });
    const done = await observeObjects(client, desired);
    expect(done.health.status).toBe('Healthy');
    expect(done.objects.map((o) => o.health.status)).toEqual(['Healthy', 'Healthy', 'Healthy']);
  });

  it('records a Kubernetes Event about an object and finds it again', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'events');
    const [cm] = (await applyObjects(client, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: ns }, data: {} }])).objects;
    const live = (await client.get(cm!.ref))!;
    await recordEvent(client, { regarding: live, reason: 'Applied', note: 'applied by release r1', action: 'Apply' });
    await recordEvent(client, { regarding: live, reason: 'DriftDetected', note: 'data.x changed by kubectl-edit', type: 'Warning' });
    const events = await listEventsFor(client, live);
    expect(events.map((e) => [e.reason, e.type])).toEqual([['Applied', 'Normal'], ['DriftDetected', 'Warning']]);
    expect((events[0]!.regarding as { uid: string }).uid).toBe(live.metadata.uid);
  });
});
