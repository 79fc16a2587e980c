import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialWatchState, startLocalKube, watchObjects, type KubeObject, type LocalKube } from '../src/index.ts';

// how long the watch may take to relist and show a change, and how often to look
const WAIT = { timeout: 30_000, interval: 50 };

async function etcd<T>(kube: LocalKube, path: string, body: unknown): Promise<T> {
  const res = await fetch(kube.etcdUrl + path, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('watch resume after etcd compaction (410 Gone)', () => {
  let kube: LocalKube | undefined;
  beforeAll(async () => {
    // without the watch cache, watches read etcd directly, so compacting etcd makes old resourceVersions expire for real
    kube = await startLocalKube({ argoCrds: false, apiServerArgs: ['--watch-cache=false'] });
  });
  afterAll(async () => {
    await kube?.stop();
  });

  it('relists when resumed from a compacted resourceVersion and reports exactly what was missed', async () => {
    const k = kube!;
    await k.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } });
    const cm = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'gone' }, data: {} });
    const kept = await k.client.create(cm('kept'));
    const dropped = await k.client.create(cm('dropped'));
    const saved = (await k.client.list('v1', 'ConfigMap', { namespace: 'gone' })).resourceVersion;

    // while "we" were away: one object deleted, one created, then history compacted
    await k.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'gone', name: 'dropped' });
    await k.client.create(cm('new'));
    const head = await etcd<{ header: { revision: string } }>(k, '/v3/kv/range', { key: Buffer.from('/').toString('base64') });
    await etcd(k, '/v3/kv/compaction', { revision: head.header.revision, physical: true });

    const seen: string[] = [];
    let lists = 0;
    const watch = watchObjects(k.client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'gone' }, {
      resumeFrom: initialWatchState([kept, dropped], saved),
      onChange: (c) => seen.push(`${c.type} ${c.object.metadata.name}`),
      onSync: () => lists++,
    });
    try {
      await expect.poll(() => lists, { ...WAIT, message: 'the relist after 410' }).toBeGreaterThan(0);
      expect(seen.sort()).toEqual(['ADDED new', 'DELETED dropped']);
      await k.client.create(cm('later'));
      await expect.poll(() => seen, { ...WAIT, message: 'an event after the relist' }).toContain('ADDED later');
      expect([...watch.state.objects.keys()].sort()).toEqual(['gone/kept', 'gone/later', 'gone/new']);
    } finally {
      watch.stop();
    }
  });
});
