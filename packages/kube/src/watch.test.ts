import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@ringmaster/kube-common';
import { compareResourceVersions, initialWatchState, reduceRelist, reduceWatchEvent } from './watch.ts';

const cm = (name: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } });

describe('reduceWatchEvent', () => {
  it('adds, modifies and deletes objects and moves the resume point', () => {
    let s = initialWatchState([], '10');
    let step = reduceWatchEvent(s, { type: 'ADDED', object: cm('a', '11') });
    expect(step.change?.type).toBe('ADDED');
    s = step.state;
    step = reduceWatchEvent(s, { type: 'MODIFIED', object: cm('a', '12') });
    expect(step.change?.type).toBe('MODIFIED');
    expect(step.state.resourceVersion).toBe('12');
    step = reduceWatchEvent(step.state, { type: 'DELETED', object: cm('a', '13') });
    expect(step.change?.type).toBe('DELETED');
    expect(step.state.objects.size).toBe(0);
    expect(step.state.resourceVersion).toBe('13');
  });

  it('ignores a replayed or older event for an object it already has', () => {
    const s = initialWatchState([cm('a', '20')], '20');
    expect(reduceWatchEvent(s, { type: 'MODIFIED', object: cm('a', '20') }).change).toBeUndefined();
    expect(reduceWatchEvent(s, { type: 'MODIFIED', object: cm('a', '15') }).change).toBeUndefined();
    expect(reduceWatchEvent(s, { type: 'MODIFIED', object: cm('a', '15') }).state.resourceVersion).toBe('20');
  });

  it('treats an ADDED for a known object as a modification', () => {
    const s = initialWatchState([cm('a', '20')], '20');
    expect(reduceWatchEvent(s, { type: 'ADDED', object: cm('a', '21') }).change?.type).toBe('MODIFIED');
  });

  it('moves only the resume point on a bookmark', () => {
    const s = initialWatchState([cm('a', '20')], '20');
    const step = reduceWatchEvent(s, { type: 'BOOKMARK', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: '99' } } });
    expect(step.change).toBeUndefined();
    expect(step.state.resourceVersion).toBe('99');
    expect(step.state.objects).toBe(s.objects);
  });

  it('asks for a relist on 410 Gone and reports other errors', () => {
    const s = initialWatchState();
    expect(reduceWatchEvent(s, { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }).relist).toBe(true);
    expect(reduceWatchEvent(s, { type: 'ERROR', object: { kind: 'Status', code: 500, message: 'boom' } })).toMatchObject({ error: { code: 500, message: 'boom' } });
  });

  it('ignores a delete of an object it never saw', () => {
    expect(reduceWatchEvent(initialWatchState(), { type: 'DELETED', object: cm('x', '5') }).change).toBeUndefined();
  });
});

describe('reduceRelist', () => {
  it('reports what changed while the watch was away', () => {
    const before = initialWatchState([cm('same', '1'), cm('changed', '2'), cm('gone', '3')], '3');
    const { state, changes } = reduceRelist(before, [cm('same', '1'), cm('changed', '7'), cm('new', '8')], '8');
    expect(changes.map((c) => `${c.type} ${c.object.metadata.name}`).sort()).toEqual(['ADDED new', 'DELETED gone', 'MODIFIED changed']);
    expect(state.resourceVersion).toBe('8');
    expect([...state.objects.keys()].sort()).toEqual(['ns/changed', 'ns/new', 'ns/same']);
  });
});

describe('compareResourceVersions', () => {
  it('orders numeric versions and leaves opaque ones unordered', () => {
    expect(compareResourceVersions('9', '10')).toBe(-1);
    expect(compareResourceVersions('10', '10')).toBe(0);
    expect(compareResourceVersions('123456789012345678901', '2')).toBe(1);
    expect(compareResourceVersions('abc', '2')).toBeUndefined();
    expect(compareResourceVersions(undefined, '2')).toBeUndefined();
  });
});
