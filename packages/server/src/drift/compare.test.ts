import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@ringmaster/kube';
import { objectDrift, type DriftField } from './compare.ts';
import { parseFieldPath, pointerCovers, valueAt } from './paths.ts';

const mf = (manager: string, operation: string, fieldsV1: Record<string, unknown>, subresource?: string) => ({ manager, operation, time: '2026-01-02T09:30:00Z', fieldsType: 'FieldsV1', fieldsV1, ...(subresource ? { subresource } : {}) });

const live: KubeObject = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: {
    name: 'web', namespace: 'shop', labels: { app: 'web' },
    managedFields: [
      mf('ringmaster', 'Apply', { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:name': {}, 'f:resources': { 'f:limits': { 'f:cpu': {} } } } } } } } }),
      mf('kube-controller-manager', 'Update', { 'f:spec': { 'f:replicas': {} } }, 'scale'),
      mf('kubectl-edit', 'Update', { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {}, 'f:env': {} } } } } } }),
    ],
  },
  spec: { replicas: 4, template: { spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'A', value: '2' }], resources: { limits: { cpu: '500m' } }, imagePullPolicy: 'IfNotPresent' }] } } },
};
const desired: KubeObject = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }], resources: { limits: { cpu: '0.5' } } }] } } },
};

describe('objectDrift', () => {
  it('reports a hand edit with its manager, not an HPA-owned replicas, a normalised quantity or a default', () => {
    const drift = objectDrift(desired, live, []);
    expect(drift).toEqual([
      { path: 'spec.template.spec.containers[name=web].image', desired: 'web:1', live: 'web:2', manager: 'kubectl-edit', operation: 'Update', time: '2026-01-02T09:30:00Z' },
      { path: 'spec.template.spec.containers[name=web].env[name=A].value', desired: '1', live: '2', manager: 'kubectl-edit', operation: 'Update', time: '2026-01-02T09:30:00Z' },
    ]);
  });

  it('leaves out fields under an ignored JSON pointer (by index or *) and changes by an ignored manager, on matching objects only', () => {
    expect((objectDrift(desired, live, [{ kind: 'Deployment', jsonPointers: ['/spec/template/spec/containers/0/image'] }]) as DriftField[]).map((d) => d.path)).toEqual(['spec.template.spec.containers[name=web].env[name=A].value']);
    expect((objectDrift(desired, live, [{ jsonPointers: ['/spec/template/spec/containers/*/env'] }]) as DriftField[]).map((d) => d.path)).toEqual(['spec.template.spec.containers[name=web].image']);
    expect(objectDrift(desired, live, [{ managers: ['kubectl-edit'] }])).toEqual([]);
    expect(objectDrift(desired, live, [{ kind: 'StatefulSet', managers: ['kubectl-edit'] }])).toHaveLength(2);
    expect(objectDrift(desired, live, [{ name: 'other', jsonPointers: ['/spec'] }])).toHaveLength(2);
  });

  it('says missing when the object is gone', () => {
    expect(objectDrift(desired, undefined, [])).toBe('missing');
  });
});

describe('field paths', () => {
  it('parses the notation, resolves keys, and refuses prototype keys', () => {
    const segs = parseFieldPath('spec.template.spec.containers[name=web].env[name=A].value')!;
    expect(valueAt(live, segs)).toBe('2');
    expect(parseFieldPath('metadata.labels["app.kubernetes.io/name"]')).toEqual([{ field: 'metadata' }, { field: 'labels' }, { field: 'app.kubernetes.io/name' }]);
    expect(parseFieldPath('spec.ports[port=80,protocol=TCP]')).toEqual([{ field: 'spec' }, { field: 'ports' }, { key: { port: '80', protocol: 'TCP' } }]);
    expect(parseFieldPath('spec.__proto__.x')).toBeUndefined();
    expect(parseFieldPath('metadata.labels["constructor"]')).toBeUndefined();
    expect(parseFieldPath('spec[')).toBeUndefined();
    expect(pointerCovers('/spec/replicas', live, parseFieldPath('spec.replicas')!)).toBe(true);
    expect(pointerCovers('/spec/replicas', live, parseFieldPath('spec')!)).toBe(false);
  });
});

describe("Argo CD's verdict", () => {
  const app = (status: unknown) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'a' }, status }) as KubeObject;
  it('names the objects Argo CD reports OutOfSync (Missing ones missing), and has none before Argo CD has a verdict', async () => {
    const { argoOutOfSync } = await import('./detector.ts');
    expect(argoOutOfSync(app({}))).toBeUndefined();
    expect(argoOutOfSync(app({ sync: { status: 'Unknown' } }))).toBeUndefined();
    expect(argoOutOfSync(app({ sync: { status: 'Synced' }, resources: [{ group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', status: 'Synced' }] }))).toEqual(new Map());
    expect(argoOutOfSync(app({
      sync: { status: 'OutOfSync' },
      resources: [
        { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', status: 'OutOfSync', health: { status: 'Healthy' } },
        { kind: 'ConfigMap', namespace: 'shop', name: 'config', status: 'OutOfSync', health: { status: 'Missing' } },
        { kind: 'Service', namespace: 'shop', name: 'web', status: 'Synced' },
      ],
    }))).toEqual(new Map([['apps/Deployment/shop/web', { missing: false }], ['/ConfigMap/shop/config', { missing: true }]]));
  });
});
