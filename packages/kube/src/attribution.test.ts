import { describe, expect, it } from 'vitest';
import { attributeField, detectDrift, fieldManagersOf, managedPaths } from './attribution.ts';
import type { KubeObject } from '@ringmaster/kube-common';

const live: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    labels: { app: 'web', 'app.kubernetes.io/name': 'web' },
    managedFields: [
      {
        manager: 'ringmaster', operation: 'Apply', time: '2026-01-01T10:00:00Z', fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {}, 'f:app.kubernetes.io/name': {} } },
          'f:spec': {
            'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } } },
          },
        },
      },
      {
        manager: 'kubectl-edit', operation: 'Update', time: '2026-01-02T09:30:00Z', fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } } },
      },
    ],
  },
  spec: {
    replicas: 5,
    template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28', ports: [{ containerPort: 80, protocol: 'TCP' }], imagePullPolicy: 'IfNotPresent' }] } },
  },
};

const desired: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', 'app.kubernetes.io/name': 'web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } } },
};

describe('managedPaths', () => {
  it('turns fieldsV1 into readable paths, with list keys and quoted names', () => {
    expect(managedPaths(live.metadata.managedFields![0]!.fieldsV1)).toEqual([
      'metadata.labels.app',
      'metadata.labels["app.kubernetes.io/name"]',
      'spec.template.spec.containers[name=web]',
      'spec.template.spec.containers[name=web].name',
      'spec.template.spec.containers[name=web].ports[containerPort=80,protocol=TCP]',
      'spec.template.spec.containers[name=web].ports[containerPort=80,protocol=TCP].containerPort',
    ]);
    expect(managedPaths({ 'f:metadata': { 'f:finalizers': { 'v:"x"': {} } } })).toEqual(['metadata.finalizers[="x"]']);
  });
});

describe('attributeField', () => {
  it('names the manager, operation and time of a field', () => {
    expect(attributeField(live, 'spec.replicas')).toEqual({ path: 'spec.replicas', manager: 'kubectl-edit', operation: 'Update', time: '2026-01-02T09:30:00Z' });
    expect(attributeField(live, 'metadata.labels["app.kubernetes.io/name"]')?.manager).toBe('ringmaster');
  });

  it('falls back to the owner of fields inside a path', () => {
    expect(fieldManagersOf(live, 'spec.template.spec.containers[name=web]').map((o) => o.manager)).toEqual(['ringmaster']);
    expect(attributeField(live, 'spec.template')?.manager).toBe('kubectl-edit');
    expect(attributeField(live, 'spec.paused')).toBeUndefined();
  });
});

describe('detectDrift', () => {
  it('lists only differing fields the desired object sets, attributed to their manager', () => {
    expect(detectDrift(desired, live)).toEqual([
      { path: 'spec.replicas', desired: 2, live: 5, manager: 'kubectl-edit', operation: 'Update', time: '2026-01-02T09:30:00Z' },
      { path: 'spec.template.spec.containers[name=web].image', desired: 'nginx:1.27', live: 'nginx:1.28', manager: 'kubectl-edit', operation: 'Update', time: '2026-01-02T09:30:00Z' },
    ]);
  });

  it('reports a missing list item and a missing field with no manager', () => {
    const want = structuredClone(desired) as KubeObject & { spec: { template: { spec: { containers: object[] } } } };
    want.spec.template.spec.containers.push({ name: 'sidecar', image: 'envoy' });
    (want.metadata.labels as Record<string, string>).tier = 'front';
    const drifts = detectDrift(want, live);
    expect(drifts).toContainEqual({ path: 'spec.template.spec.containers[name=sidecar]', desired: { name: 'sidecar', image: 'envoy' }, live: undefined });
    expect(drifts).toContainEqual({ path: 'metadata.labels.tier', desired: 'front', live: undefined });
  });

  it('compares lists of scalars whole and ignores status and server metadata', () => {
    const a: KubeObject = { apiVersion: 'v1', kind: 'X', metadata: { name: 'a', resourceVersion: '1' }, spec: { args: ['a', 'b'] }, status: { x: 1 } };
    const b: KubeObject = { apiVersion: 'v1', kind: 'X', metadata: { name: 'a', resourceVersion: '9' }, spec: { args: ['a', 'c'] }, status: { x: 2 } };
    expect(detectDrift(a, b).map((d) => d.path)).toEqual(['spec.args']);
  });
});
