import { describe, expect, it } from 'vitest';
import { applyOrder, sortForApply } from './apply-order.ts';

describe('sortForApply', () => {
  it('puts CRDs, then Namespaces, then config before workloads and custom resources last, keeping input order otherwise', () => {
    const kinds = ['Widget', 'Deployment', 'Service', 'Namespace', 'ConfigMap', 'CustomResourceDefinition', 'Secret', 'Gadget', 'ConfigMap'];
    expect(sortForApply(kinds.map((kind, i) => ({ kind, i }))).map((o) => `${o.kind}${o.i}`)).toEqual([
      'CustomResourceDefinition5', 'Namespace3', 'Secret6', 'ConfigMap4', 'ConfigMap8', 'Service2', 'Deployment1', 'Widget0', 'Gadget7',
    ]);
  });
});

describe('applyOrder', () => {
  it('puts CRDs and Namespaces before every role, then the roles in order (no role first), then kinds as sortForApply does, then file names', () => {
    const objects = [
      { kind: 'Deployment', role: 'backend', file: 'deployment.apps_b.yaml' },
      { kind: 'ConfigMap', role: 'backend', file: 'configmap_b.yaml' },
      { kind: 'Namespace', role: 'backend', file: 'namespace_shop.yaml' },
      { kind: 'Deployment', role: 'frontend', file: 'deployment.apps_f.yaml' },
      { kind: 'Service', file: 'service_x.yaml' },
      { kind: 'Deployment', file: 'deployment.apps_a.yaml' },
      { kind: 'Deployment', file: 'deployment.apps_0.yaml' },
      { kind: 'CustomResourceDefinition', role: 'frontend', file: 'customresourcedefinition.apiextensions.k8s.io_w.yaml' },
    ];
    expect([...objects].sort(applyOrder(['frontend', 'backend'])).map((o) => o.file)).toEqual([
      'customresourcedefinition.apiextensions.k8s.io_w.yaml', 'namespace_shop.yaml',
      'service_x.yaml', 'deployment.apps_0.yaml', 'deployment.apps_a.yaml',
      'deployment.apps_f.yaml',
      'configmap_b.yaml', 'deployment.apps_b.yaml',
    ]);
  });
});
