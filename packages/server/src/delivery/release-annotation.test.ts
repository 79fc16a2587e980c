import { describe, expect, it } from 'vitest';
import { toYaml, type RenderedInstance, type RenderedObject } from '@ringmaster/fleet';
import { ANNOTATIONS } from '@ringmaster/kube-common';
import { withReleaseAnnotation } from './release-annotation.ts';

const rendered = (apiVersion: string, kind: string, name: string): RenderedObject => {
  const object = { apiVersion, kind, metadata: { name, namespace: 'shop', labels: { 'ringmaster.dev/app': 'appserver' } }, spec: { roles: [] } };
  return { apiVersion, kind, namespace: 'shop', name, file: `${kind.toLowerCase()}_${name}.yaml`, object, yaml: toYaml(object, { sort: true }) };
};
const instance = (objects: RenderedObject[]): RenderedInstance => ({ instance: 'shop', app: 'appserver', cluster: 'dev', ring: 'dev', region: 'eu', namespace: 'shop', objects } as unknown as RenderedInstance);

describe('withReleaseAnnotation', () => {
  it('writes the release id on AppClusters only, in the object and its YAML, leaving the render as it was', () => {
    const inst = instance([rendered('v1', 'ConfigMap', 'config'), rendered('ringmaster.dev/v1alpha1', 'AppCluster', 'appserver')]);
    const before = structuredClone(inst);
    const out = withReleaseAnnotation(inst, 'r42');
    expect(inst).toEqual(before);
    expect(out.objects[0]).toBe(inst.objects[0]);
    const app = out.objects[1]!;
    expect(app.object.metadata.annotations).toEqual({ [ANNOTATIONS.release]: 'r42' });
    expect(app.yaml).toContain('  annotations:\n    ringmaster.dev/release: r42\n');
    // deterministic: the same release writes the same bytes
    expect(withReleaseAnnotation(inst, 'r42').objects[1]!.yaml).toBe(app.yaml);
  });

  it('returns an instance without AppClusters unchanged, and leaves another group\'s AppCluster alone', () => {
    const inst = instance([rendered('example.io/v1', 'AppCluster', 'other')]);
    expect(withReleaseAnnotation(inst, 'r1')).toBe(inst);
  });
});
