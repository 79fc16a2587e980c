import { describe, expect, it } from 'vitest';
import { identityKey, namespacedName, objectFileName } from './keys.ts';

describe('object keys', () => {
  it('identifies an object by group, kind, namespace and name, whatever its version', () => {
    expect(identityKey({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' })).toBe('apps/Deployment/shop/web');
    expect(identityKey({ apiVersion: 'apps/v1beta2', kind: 'Deployment', namespace: 'shop', name: 'web' })).toBe('apps/Deployment/shop/web');
    expect(identityKey({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' })).toBe('/Namespace//shop');
  });

  it('keys an object within its kind by namespace and name', () => {
    expect(namespacedName({ metadata: { namespace: 'shop', name: 'web' } })).toBe('shop/web');
    expect(namespacedName({ metadata: { name: 'shop' } })).toBe('shop');
  });

  it('names the file of an object by kind, group, namespace and name', () => {
    expect(objectFileName({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' })).toBe('deployment.apps_shop_web.yaml');
    expect(objectFileName({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' })).toBe('namespace_shop.yaml');
  });
});
