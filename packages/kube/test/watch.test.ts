import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { keepInformerRunning, watchObjects, type KubeObject, type WatchHandle } from '../src/index.ts';
import { freshNamespace, useLocalKube } from './helpers.ts';

// how long a watch may take to show a change (kube-apiserver restarts included), and how often to look
const WAIT = { timeout: 30_000, interval: 50 };

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
      await expect.poll(() => seen, { ...WAIT, message: 'the first event' }).toContain('ADDED during-1');

      await k.stopApiServer();
      await k.startApiServer();

      await k.client.create(configMap(ns, 'after-restart', '1'));
      await k.client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'before' }, { data: { value: '2' } });
      await k.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'during-1' });
      await expect.poll(() => seen, { ...WAIT, message: 'events after the restart' }).toEqual(expect.arrayContaining(['ADDED after-restart', 'MODIFIED before', 'DELETED during-1']));
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
      await expect.poll(() => seen, { ...WAIT, message: 'the event after the outage' }).toContain('ADDED x');
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
      await expect.poll(() => added, { ...WAIT, message: 'the first add' }).toContain('first');
      await k.stopApiServer();
      await expect.poll(() => errors, { ...WAIT, message: 'the informer to fail' }).toBeGreaterThan(0);
      await k.startApiServer();
      await k.client.create(configMap(ns, 'second', '1'));
      await expect.poll(() => added, { ...WAIT, message: 'an add after the informer was restarted' }).toContain('second');
    } finally {
      await stop();
    }
  });
});
