import { afterAll, beforeAll } from 'vitest';
import { startLocalKube, type LocalKube } from '../src/index.ts';
import type { KubeObject } from '../src/index.ts';

/** Starts one local kube-apiserver for the calling test file and stops it afterwards, even on failure. */
export function useLocalKube(): () => LocalKube {
  let kube: LocalKube | undefined;
  beforeAll(async () => {
    kube = await startLocalKube();
  });
  afterAll(async () => {
    await kube?.stop();
  });
  return () => {
    if (!kube) throw new Error('local kube-apiserver did not start');
    return kube;
  };
}

let counter = 0;

/** Creates a fresh namespace so each test has its own room on the shared server. */
export async function freshNamespace(kube: LocalKube, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${++counter}`;
  await kube.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** A Deployment, a Service and a ConfigMap for an app called `web` in `namespace`. */
export function webApp(namespace: string, replicas = 2): KubeObject[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace, labels: { app: 'web' } },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace }, data: { greeting: 'hello' } },
  ];
}
