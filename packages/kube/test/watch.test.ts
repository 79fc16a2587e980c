import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { keepInformerRunning, watchObjects, type KubeObject, type WatchHandle } from '../src/index.ts';
import { freshNamespace, useLocalKube } from './helpers.ts';

async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const configMap = (ns: string, name: string, value: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { value } });

describe('watch against a real kube-apiserver', () => {
  const kube = useLocalKube();

  it('keeps delivering events across a kube-apiserver restart', async () => {
    const k = kube();
    const ns = await freshNamespace(k, 'watch');
    await k.client.create(configMap(ns, 'before', '1'));
    const seen: string[] = [];
    const errors: unknown[] = [];
    let watch: WatchHandle | undefined;
    try {
      watch = watchObjects(k.client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns }, {
        onChange: (c) => seen.push(`${c.type} ${c.object.metadata.name}`),
        onError: (e) => errors.push(e),
        maxBackoffMs: 500,
      });
      await watch.synced;
      expect(seen).toContain('ADDED before');

      await k.client.create(configMap(ns, 'during-1', '1'));
      await eventually(() => seen.includes('ADDED during-1'), 'the first event');

      await k.stopApiServer();
      await k.startApiServer();

      await k.client.create(configMap(ns, 'after-restart', '1'));
      await k.client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'before' }, { data: { value: '2' } });
      await k.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'during-1' });
      await eventually(() => seen.includes('ADDED after-restart') && seen.includes('MODIFIED before') && seen.includes('DELETED during-1'), 'events after the restart');
      expect(errors.length).toBeGreaterThan(0); // the outage was noticed, and survived
      expect([...watch.state.objects.keys()].sort()).toEqual([`${ns}/after-restart`, `${ns}/before`]);
      expect(seen.filter((s) => s === 'ADDED before')).toHaveLength(1);
    } finally {
      watch?.stop();
    }
  });

  it('delivers changes that happened while kube-apiserver was down', async () => {
    const k = kube();
    const ns = await freshNamespace(k, 'outage');
    const seen: string[] = [];
    const watch = watchObjects(k.client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns }, {
      onChange: (c) => seen.push(`${c.type} ${c.object.metadata.name}`),
      maxBackoffMs: 300,
    });
    try {
      await watch.synced;
      await k.stopApiServer();
      await k.startApiServer();
      await k.client.create(configMap(ns, 'x', '1'));
      await eventually(() => seen.includes('ADDED x'), 'the event after the outage');
      expect(watch.state.objects.get(`${ns}/x`)?.data).toEqual({ value: '1' });
    } finally {
      watch.stop();
    }
  });

  it('restarts a client-node informer that stopped on a connection error', async () => {
    const k = kube();
    const ns = await freshNamespace(k, 'informer');
    const api = k.kubeConfig.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1ConfigMap>(k.kubeConfig, `/api/v1/namespaces/${ns}/configmaps`, () => api.listNamespacedConfigMap({ namespace: ns }));
    const added: string[] = [];
    let errors = 0;
    informer.on('add', (cm) => added.push(cm.metadata!.name!));
    const stop = keepInformerRunning(informer, { maxBackoffMs: 300, onError: () => errors++ });
    try {
      await informer.start();
      await k.client.create(configMap(ns, 'first', '1'));
      await eventually(() => added.includes('first'), 'the first add');
      await k.stopApiServer();
      await eventually(() => errors > 0, 'the informer to fail');
      await k.startApiServer();
      await k.client.create(configMap(ns, 'second', '1'));
      await eventually(() => added.includes('second'), 'an add after the informer was restarted');
    } finally {
      await stop();
    }
  });
});
