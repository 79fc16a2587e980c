import { describe, expect, it } from 'vitest';
import { nodePatch } from './controller.ts';
import type { AppCluster } from './types.ts';

const app = (nodes?: AppCluster['spec']['nodes']): AppCluster => ({
  apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', metadata: { name: 'a', namespace: 'n' },
  spec: { roles: [{ name: 'web', replicas: 3, image: 'x:1' }], ...(nodes ? { nodes } : {}) },
});

describe('nodePatch', () => {
  it('adds the list, appends an entry or sets fields of the existing entry, guarding what it relies on', () => {
    expect(nodePatch(app(), 'web-1', { traffic: 'dark' })).toEqual([{ op: 'add', path: '/spec/nodes', value: [{ name: 'web-1', traffic: 'dark' }] }]);
    expect(nodePatch(app([{ name: 'web-0', image: 'x:2' }]), 'web-1', { state: 'down' })).toEqual([
      { op: 'test', path: '/spec/nodes', value: [{ name: 'web-0', image: 'x:2' }] },
      { op: 'add', path: '/spec/nodes/-', value: { name: 'web-1', state: 'down' } },
    ]);
    expect(nodePatch(app([{ name: 'web-0' }, { name: 'web-1', image: 'x:2' }]), 'web-1', { traffic: 'dark' })).toEqual([
      { op: 'test', path: '/spec/nodes/1/name', value: 'web-1' },
      { op: 'add', path: '/spec/nodes/1/traffic', value: 'dark' },
    ]);
  });
});
