import { describe, expect, it } from 'vitest';
import { previewOperation } from './preview.ts';
import type { AppCluster, NodeOperation } from './types.ts';

const app: AppCluster = {
  apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', metadata: { name: 'shop', namespace: 't', generation: 1 },
  spec: { roles: [{ name: 'frontend', replicas: 2, image: 'app:1', ports: [{ name: 'http', port: 80 }] }] },
};
const op = (spec: Partial<NodeOperation['spec']>): NodeOperation => ({ apiVersion: 'ringmaster.dev/v1alpha1', kind: 'NodeOperation', metadata: { name: 'o', namespace: 't' }, spec: { appCluster: 'shop', type: 'upgradeNode', ...spec } });

describe('previewOperation', () => {
  it('names each field and object an upgrade changes, step by step', () => {
    const p = previewOperation(op({ node: 'frontend-1', image: 'app:2' }), app);
    expect(p.steps).toEqual(['dark', 'upgrade', 'serve']);
    expect(p.changes.map((c) => `${c.step} ${c.field} ${c.from}→${c.to}`)).toEqual([
      'dark spec.nodes[frontend-1].traffic serving→dark',
      'upgrade spec.nodes[frontend-1].image app:1→app:2',
      'serve spec.nodes[frontend-1].traffic dark→serving',
    ]);
    expect(p.changes[0]!.effect).toContain('Service t/shop-frontend drops it from its EndpointSlices');
  });
});
