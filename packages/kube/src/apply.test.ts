import { describe, expect, it } from 'vitest';
import { sortForApply } from './apply.ts';
import { inventoryObject, pruneCandidates } from './inventory.ts';
import { diffPaths, refOf } from './object.ts';

describe('sortForApply', () => {
  it('puts CRDs, then Namespaces, then config before workloads and custom resources last, keeping input order otherwise', () => {
    const kinds = ['Widget', 'Deployment', 'Service', 'Namespace', 'ConfigMap', 'CustomResourceDefinition', 'Secret', 'Gadget', 'ConfigMap'];
    expect(sortForApply(kinds.map((kind, i) => ({ kind, i }))).map((o) => `${o.kind}${o.i}`)).toEqual([
      'CustomResourceDefinition5', 'Namespace3', 'Secret6', 'ConfigMap4', 'ConfigMap8', 'Service2', 'Deployment1', 'Widget0', 'Gadget7',
    ]);
  });
});

describe('inventory', () => {
  it('finds what the desired set dropped, whatever the apiVersion', () => {
    const prev = [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'a', name: 'web' }, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'c' }];
    expect(pruneCandidates(prev, [{ apiVersion: 'apps/v1beta2', kind: 'Deployment', namespace: 'a', name: 'web' }])).toEqual([prev[1]]);
  });

  it('records a sorted, de-duplicated list so the same set makes the same ConfigMap', () => {
    const a = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'b' };
    const b = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'a' };
    expect(inventoryObject({ namespace: 'a', name: 'inv' }, [a, b, a]).data).toEqual(inventoryObject({ namespace: 'a', name: 'inv' }, [b, a]).data);
  });
});

describe('refOf and diffPaths', () => {
  it('explains what a manifest lacks', () => {
    expect(() => refOf({ kind: 'ConfigMap', metadata: { name: 'x' } })).toThrow(/no apiVersion/);
    expect(() => refOf({ apiVersion: 'v1', metadata: { name: 'x' } })).toThrow(/has no kind/);
  });

  it('lists changed paths', () => {
    expect(diffPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: true })).toEqual(['b.c[1]', 'd']);
  });
});
