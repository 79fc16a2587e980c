import { join } from 'node:path';
import { vi } from 'vitest';
import { clientCertificate, KubeClient, kubeconfigYaml, type KubeObject, type LocalFleet } from '@ringmaster/kube';

/** A person with the built-in "edit" role in one namespace of a cluster, acting through a client certificate of the fleet's CA. */
export async function person(fleet: LocalFleet, cluster: string, user: string, namespace: string): Promise<KubeClient> {
  const pki = join(fleet.dir, 'pki');
  const cert = clientCertificate(pki, `user-${user}`, `/CN=${user}`);
  const admin = fleet.cluster(cluster).client;
  await admin.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${user}-edit`, namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }] } as KubeObject, { fieldManager: 'test' });
  return KubeClient.fromString(kubeconfigYaml([{ name: cluster, server: fleet.cluster(cluster).server, caCert: join(pki, 'ca.crt'), cert: cert.cert, key: cert.key, user }]));
}

/** What `kubectl edit` does: read, change, write back, with kubectl-edit as the field manager. */
export async function edit(client: KubeClient, ref: { apiVersion: string; kind: string; namespace: string; name: string }, change: (o: any) => void): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const obj = (await client.get(ref))!;
    change(obj);
    try {
      await client.update(obj, { fieldManager: 'kubectl-edit' });
      return;
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err;
    }
  }
  throw new Error('edit kept conflicting');
}

/**
 * Vitest's `vi.waitFor` until `fn` returns something truthy, every 100 ms; on a timeout the error
 * names what was awaited and the last failure.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  return vi.waitFor(async () => {
    let v: T | undefined | false;
    try {
      v = await fn();
    } catch (err) {
      throw new Error(`timed out waiting for ${what}: ${(err as Error).message}`, { cause: err });
    }
    if (!v) throw new Error(`timed out waiting for ${what}`);
    return v;
  }, { timeout: timeoutMs, interval: 100 });
}
