import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackends } from './helpers/harness.ts';
import { listDrift } from '../src/index.ts';
import { driftCounts, forgetObjects, storeFinding } from '../src/drift/store.ts';

// The drift store on both databases: level-based findings, first-seen kept, resolved rows deleted.
const backends = useBackends();
const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'acme', name });
const base = { cluster: 'dev-1', instance: 'acme', app: 'appserver', ring: 'dev', releaseId: 'r1' };
const image = (live: string) => ({ path: 'spec.template.spec.containers[name=web].image', desired: 'web:1', live, manager: 'kubectl-edit', operation: 'Update', time: '2026-12-02T04:00:00Z' });

describe.each(BACKENDS)('drift store on %s', (backend) => {
  it('stores a finding once, keeps who and since when while it stays, and deletes what is resolved', async () => {
    const storage = await backends.storage(backend);
    try {
      const db = storage.db;
      const first = await storeFinding(db, { ...base, ref: ref('web'), drift: [image('web:2')], audit: { user: 'alice', verb: 'update', time: '2026-12-02T04:00:00.2Z' } }, 1000);
      expect(first.added.map((r) => [r.path, r.live, r.user])).toEqual([['spec.template.spec.containers[name=web].image', 'web:2', 'alice']]);
      // the same finding again writes nothing; a controller's later write does not replace the person
      expect(await storeFinding(db, { ...base, ref: ref('web'), drift: [image('web:2')], audit: { user: 'system:serviceaccount:kube-system:deployment-controller', verb: 'update', time: 'later' } }, 2000)).toEqual({ added: [], resolved: [] });
      await storeFinding(db, { ...base, ref: ref('db'), drift: 'missing', audit: { user: 'bob', verb: 'delete', time: 't' } }, 3000);
      let all = await listDrift(db, { instance: 'acme' });
      expect(all.map((r) => `${r.object.name} ${r.state} ${r.user} ${r.firstSeen}`)).toEqual([
        'db missing bob 1970-01-01T00:00:03.000Z',
        'web drifted alice 1970-01-01T00:00:01.000Z',
      ]);
      expect(await driftCounts(db)).toEqual([{ app: 'appserver', cluster: 'dev-1', objects: 2 }]);
      expect(await listDrift(db, { apps: ['billing'] })).toEqual([]);
      // a new live value by someone else: a new person, first seen kept
      const changed = await storeFinding(db, { ...base, ref: ref('web'), drift: [image('web:3')], audit: { user: 'carol', verb: 'patch', time: 't2' } }, 4000);
      expect(changed.added.map((r) => [r.live, r.user, r.firstSeen])).toEqual([['web:3', 'carol', '1970-01-01T00:00:01.000Z']]);
      // back to the desired value: resolved and deleted
      const resolved = await storeFinding(db, { ...base, ref: ref('web'), drift: [] }, 5000);
      expect(resolved.resolved.map((r) => r.object.name)).toEqual(['web']);
      expect((await forgetObjects(db, 'dev-1', 'acme', new Set())).map((r) => r.object.name)).toEqual(['db']);
      all = await listDrift(db, {});
      expect(all).toEqual([]);
      expect(await driftCounts(db)).toEqual([]);
    } finally {
      await storage.close();
    }
  });
});
