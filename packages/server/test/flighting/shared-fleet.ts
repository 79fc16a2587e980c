// Vitest global setup of the "fleet" project (files named *.fleet.test.ts): one local fleet for the
// whole run — a kube-apiserver with kube-controller-manager, kube-scheduler and kwok nodes per
// cluster of the flighting fixture, and a management cluster with real Argo CD. Each test file
// works in namespaces and Applications of its own prefix; the fleet stops when the run ends, even
// when tests fail (and the process group's watchdog kills it if this process dies).
import type { TestProject } from 'vitest/node';
import { startLocalFleet } from '@ringmaster/kube';
import { SHARED_CLUSTERS, type SharedFleetInfo } from './fleet-info.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    localFleet: SharedFleetInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const fleet = await startLocalFleet({ clusters: SHARED_CLUSTERS, nodes: 2 });
  const info: SharedFleetInfo = {
    kubeconfigPath: fleet.kubeconfigPath,
    clusters: fleet.clusters.map((c) => ({ name: c.name, role: c.role, kubeconfigPath: c.kubeconfigPath, server: c.server })),
    versions: fleet.versions,
    argocdNamespace: fleet.argocd!.namespace,
  };
  project.provide('localFleet', info);
  console.log(`[fleet] local fleet up in ${((Date.now() - started) / 1000).toFixed(1)} s: Kubernetes ${fleet.versions.kubernetes}, Argo CD ${fleet.versions.argocd}, clusters ${SHARED_CLUSTERS.join(', ')} + management`);
  return () => fleet.stop();
}
