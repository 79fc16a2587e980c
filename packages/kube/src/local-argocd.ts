import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { applyObjects } from './apply.ts';
import { APP_CLUSTER_HEALTH_KEY, APP_CLUSTER_HEALTH_LUA } from './argocd-health.ts';
import type { ArgoCdBinaries } from './binaries.ts';
import type { LocalPki } from './certs.ts';
import type { KubeClient } from './client.ts';
import { LocalKubeError } from './errors.ts';
import { waitHealthz } from './healthz.ts';
import type { KubeObject } from '@ringmaster/kube-common';
import { freePort, type ProcessGroup } from './processes.ts';

/** The namespace of Argo CD's configuration and Applications on the management cluster. */
export const ARGOCD_NAMESPACE = 'argocd';

/** A workload cluster as Argo CD must know it: name and API server URL. */
export interface ArgoCdDestination {
  name: string;
  server: string;
}

/** Argo CD running outside any cluster against the management API server. */
export interface LocalArgoCd {
  namespace: string;
  version: string;
  /** Every workload cluster registered as an Argo CD cluster Secret, by name. */
  destinations: ArgoCdDestination[];
  /** Stops the application-controller (the repo-server and Redis keep running), e.g. to test a pause mid-release. */
  stopController(): Promise<void>;
  /** Starts the application-controller again and waits until it is healthy. */
  startController(): Promise<void>;
}

/** What startLocalArgoCd needs from the fleet. */
export interface LocalArgoCdInput {
  dir: string;
  group: ProcessGroup;
  launch: (name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv) => unknown;
  bins: ArgoCdBinaries;
  management: { name: string; kubeconfigPath: string; client: KubeClient };
  workloads: { name: string; server: string }[];
  pki: LocalPki;
  timeoutMs: number;
  resyncSeconds?: number;
}

const partOf = { 'app.kubernetes.io/part-of': 'argocd' };

/** Argo CD's own CRDs (Application, ApplicationSet, AppProject), read from its module in the Go module cache. */
export function argoCdCrds(moduleDir: string): KubeObject[] {
  const files = ['application-crd.yaml', 'applicationset-crd.yaml', 'appproject-crd.yaml'];
  // a plain YAML parse: client-node's loadAllYaml renames keys to its model's (x-kubernetes-* → x_kubernetes_*)
  return files.flatMap((f) => parseAllDocuments(readFileSync(join(moduleDir, 'manifests', 'crds', f), 'utf8')).map((d) => d.toJS() as KubeObject).filter(Boolean));
}

/** Installs Argo CD's own CRDs (from its module folder) and waits until they are Established. */
export async function installArgoCdCrds(client: KubeClient, moduleDir: string): Promise<void> {
  await applyObjects(client, argoCdCrds(moduleDir));
}

/** An Argo CD cluster Secret: the destination's URL and the client certificate Argo CD talks to it with. */
export function clusterSecret(dest: ArgoCdDestination, pki: LocalPki): KubeObject {
  const b64 = (p: string) => readFileSync(p).toString('base64');
  const config = { tlsClientConfig: { caData: b64(pki.caCert), certData: b64(pki.adminCert), keyData: b64(pki.adminKey) } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `cluster-${dest.name}`, namespace: ARGOCD_NAMESPACE, labels: { ...partOf, 'argocd.argoproj.io/secret-type': 'cluster' } },
    type: 'Opaque',
    stringData: { name: dest.name, server: dest.server, config: JSON.stringify(config) },
  };
}

/** The configuration Argo CD's controller reads in its namespace, the default AppProject and the cluster Secrets. */
export function argoCdConfig(destinations: ArgoCdDestination[], pki: LocalPki, resyncSeconds: number): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ARGOCD_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argocd-cm', namespace: ARGOCD_NAMESPACE, labels: partOf },
      // out of a cluster the in-cluster destination cannot work: every cluster is a registered Secret
      // and Ringmaster's AppCluster is assessed from its conditions (argocd-health.ts)
      data: { 'cluster.inClusterEnabled': 'false', 'timeout.reconciliation': `${resyncSeconds}s`, [APP_CLUSTER_HEALTH_KEY]: APP_CLUSTER_HEALTH_LUA },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cmd-params-cm', namespace: ARGOCD_NAMESPACE, labels: partOf }, data: {} },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'argocd-secret', namespace: ARGOCD_NAMESPACE, labels: partOf },
      type: 'Opaque',
      stringData: { 'server.secretkey': randomBytes(32).toString('base64') },
    },
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'default', namespace: ARGOCD_NAMESPACE },
      spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
    },
    ...destinations.map((d) => clusterSecret(d, pki)),
  ];
}

/**
 * Starts Redis (loopback, no persistence), Argo CD's repo-server and application-controller outside
 * any cluster, against the management API server, after installing Argo CD's real CRDs, its
 * configuration and a cluster Secret per workload cluster.
 */
export async function startLocalArgoCd(input: LocalArgoCdInput): Promise<LocalArgoCd> {
  const { group, launch, bins, management, timeoutMs } = input;
  const resync = input.resyncSeconds ?? 180;
  const destinations = input.workloads.map((w) => ({ name: w.name, server: w.server }));
  await installArgoCdCrds(management.client, bins.moduleDir);
  await applyObjects(management.client, argoCdConfig(destinations, input.pki, resync));

  const redisPort = await freePort();
  launch('argocd-redis', bins.redisServer, ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', input.dir, '--protected-mode', 'yes']);
  await waitRedis(redisPort, group, timeoutMs);
  const redis = `127.0.0.1:${redisPort}`;

  const repoPort = await freePort();
  const repoMetrics = await freePort();
  // out of a cluster GnuPG has no keyring folder (repo-server would exit looking for it)
  launch('argocd-repo-server', bins.repoServer, ['--disable-tls', '--address', '127.0.0.1', '--port', String(repoPort), '--metrics-address', '127.0.0.1', '--metrics-port', String(repoMetrics), '--redis', redis, '--loglevel', 'warn'], { ARGOCD_GPG_ENABLED: 'false' });
  await waitHealthz(`http://127.0.0.1:${repoMetrics}/healthz`, group, 'argocd-repo-server', timeoutMs);

  const controllerMetrics = await freePort();
  const startController = async (): Promise<void> => {
    launch('argocd-application-controller', bins.applicationController, [
      '--kubeconfig', management.kubeconfigPath,
      '--namespace', ARGOCD_NAMESPACE,
      '--redis', redis,
      '--repo-server', `127.0.0.1:${repoPort}`,
      '--repo-server-plaintext',
      '--metrics-port', String(controllerMetrics),
      '--app-resync', String(resync),
      '--loglevel', 'warn',
    ]);
    await waitHealthz(`http://127.0.0.1:${controllerMetrics}/healthz`, group, 'argocd-application-controller', timeoutMs);
  };
  await startController();
  return {
    namespace: ARGOCD_NAMESPACE,
    version: bins.argocdVersion,
    destinations,
    stopController: () => group.stop('argocd-application-controller', 5_000),
    startController,
  };
}

/** Waits until Redis answers PING on loopback; fails early, naming its log, when it exits. */
async function waitRedis(port: number, group: ProcessGroup, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const exited = group.exitedError('argocd-redis');
    if (exited) throw exited;
    if (await redisPing(port)) return;
    await sleep(100);
  }
  throw new LocalKubeError(`redis-server did not answer on 127.0.0.1:${port} after ${timeoutMs} ms; its log is ${group.logOf('argocd-redis')}`);
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      socket.end();
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}
