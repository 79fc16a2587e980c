import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyObjects, assessHealth, StandInControllers, workloadImages, type KubeClient, type LocalKube } from '@ringmaster/kube';
import { startLocalKube } from '@ringmaster/kube';

let kube: LocalKube;
let client: KubeClient;
beforeAll(async () => {
  kube = await startLocalKube();
  client = kube.client;
});
afterAll(async () => kube?.stop());

/** The Application CRD's storage may still be initialising right after start (429): try again. */
async function settled<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i > 50 || !String(e).includes('429')) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const deployment = (name: string, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'ringmaster' } },
  spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } } },
});

describe('stand-in controllers', () => {
  it('write workload status once, and nothing while it is already right', async () => {
    await applyObjects(client, [deployment('good', 'web:1'), deployment('bad', 'web:2')], { inventory: { namespace: 'default', name: 'stand-in-test' } });
    const actions: string[] = [];
    const stand = new StandInControllers(client, {
      manifestHead: () => undefined,
      workloadProblem: (w) => (workloadImages(w).includes('web:2') ? 'crash-looping' : undefined),
      onAction: (m) => actions.push(m),
    });
    await settled(() => stand.once());
    expect(actions.sort()).toEqual(['Deployment default/bad: not ready (crash-looping)', 'Deployment default/good: all replicas ready']);
    const good = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'good' });
    const bad = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'bad' });
    expect(assessHealth(good).status).toBe('Healthy');
    expect(assessHealth(bad).status).toBe('Degraded');
    actions.length = 0;
    await settled(() => stand.once());
    expect(actions).toEqual([]);
  });
});
