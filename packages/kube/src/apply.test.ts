import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, LEGACY_ANNOTATIONS } from '@ringmaster/kube-common';
import { inventoryObject, ownedByInventory, pruneCandidates } from './inventory.ts';
import { diffPaths, refOf } from './object.ts';

describe('inventory', () => {
  it('owns what carries its id under the ringmaster.dev key, or under the ringmaster.io key older versions wrote', () => {
    const inv = { namespace: 'shop', name: 'ringmaster-inventory-web' };
    const live = (annotations: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop', annotations } });
    expect(ownedByInventory(live({ [ANNOTATIONS.inventory]: 'shop/ringmaster-inventory-web' }), inv)).toBe(true);
    expect(ownedByInventory(live({ [LEGACY_ANNOTATIONS.inventory]: 'shop/ringmaster-inventory-web' }), inv)).toBe(true);
    expect(ownedByInventory(live({ [ANNOTATIONS.inventory]: 'shop/other' }), inv)).toBe(false);
    expect(ownedByInventory(live({ [LEGACY_ANNOTATIONS.inventory]: 'shop/other' }), inv)).toBe(false);
    expect(ownedByInventory(live({}), inv)).toBe(false);
  });

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
