// Vitest global setup of the "fleet" project (files named *.fleet.test.ts): one local fleet for the
// whole run — a kube-apiserver with kube-controller-manager, kube-scheduler and kwok nodes per
// cluster of the flighting fixture, and a management cluster with real Argo CD; the stateful node
// operator runs as a `ringmaster operator` process on the clusters of OPERATOR_CLUSTERS. Each test file
// works in namespaces and Applications of its own prefix; the fleet stops when the run ends, even
// when tests fail (and the process group's watchdog kills it if this process dies).
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startLocalFleet } from '@ringmaster/kube';
import { OPERATOR_CLUSTERS, SHARED_CLUSTERS, type SharedFleetInfo } from './fleet-info.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    localFleet: SharedFleetInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // a real `ringmaster operator` process (outside the cluster: kwok Pods run no code) on one
  // direct-mode and one Argo CD-mode cluster, for test files that deliver AppClusters
  const cli = fileURLToPath(new URL('../../../cli/bin/ringmaster.js', import.meta.url));
  const fleet = await startLocalFleet({ clusters: SHARED_CLUSTERS, nodes: 2, operator: { command: process.execPath, args: [cli, 'operator'], clusters: OPERATOR_CLUSTERS } });
  const info: SharedFleetInfo = {
    kubeconfigPath: fleet.kubeconfigPath,
    clusters: fleet.clusters.map((c) => ({ name: c.name, role: c.role, kubeconfigPath: c.kubeconfigPath, server: c.server })),
    versions: fleet.versions,
    argocdNamespace: fleet.argocd!.namespace,
  };
  project.provide('localFleet', info);
  console.log(`[fleet] local fleet up in ${((Date.now() - started) / 1000).toFixed(1)} s: Kubernetes ${fleet.versions.kubernetes}, Argo CD ${fleet.versions.argocd}, clusters ${SHARED_CLUSTERS.join(', ')} + management, ringmaster operator on ${OPERATOR_CLUSTERS.join(', ')}`);
  return () => fleet.stop();
}
