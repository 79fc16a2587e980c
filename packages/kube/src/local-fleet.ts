import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { LABELS } from '@ringmaster/kube-common';
import { ensureArgoCdBinaries, ensureArgoCdModule, ensureFleetBinaries, type FleetBinaries } from './binaries.ts';
import { clientCertificate, generateLocalPki, kubeconfigYaml, type KubeconfigEntry, type LocalPki } from './certs.ts';
import { KubeClient } from './client.ts';
import { LocalKubeError } from './errors.ts';
import { installArgoCdCrds, startLocalArgoCd, type LocalArgoCd } from './local-argocd.ts';
import { apiServerFlags, etcdArgs, waitApiReady, waitEtcd } from './local-kube.ts';
import { kwokConfig } from './kwok-stages.ts';
import { waitHealthz } from './healthz.ts';
import { freePort, ProcessGroup, runs, terminate } from './processes.ts';

/** Options of startLocalFleet. */
export interface LocalFleetOptions {
  /** Workload clusters, each a kube-apiserver with controllers, a scheduler and kwok nodes. */
  clusters: string[];
  /** Name of the management cluster where Argo CD's Applications live (default "management"); false for none. */
  management?: string | false;
  /** Run Argo CD against the management cluster (default true when there is one). */
  argocd?: boolean;
  /** kwok nodes per workload cluster (default 3). */
  nodes?: number;
  /** Argo CD's poll period in seconds (`--app-resync`, default 180 as in Argo CD). */
  argocdResyncSeconds?: number;
  dir?: string;
  /** Images (`name:tag`, matched at the end of the image reference) whose Pods crash-loop, besides any `:bad` / `-bad` tag. */
  crashingImages?: string[];
  /** Keep the processes running after this Node process exits (for `ringmaster dev kube up`). */
  detached?: boolean;
  /** Keep the state folder on stop() (default: remove it unless `dir` was given). */
  keepDir?: boolean;
  /** Milliseconds to wait for each part to be ready (default 240 s: 2 shared cores are slow). */
  startTimeoutMs?: number;
  /**
   * Runs the real stateful node operator (`ringmaster operator`) once per workload cluster, as a
   * process outside the cluster (kwok Pods run no code, as Argo CD runs outside the management
   * cluster): `command` and `args` start it, and the fleet adds `--kubeconfig`, `--metrics-port`,
   * `--identity` and the Lease's namespace. The caller passes the command, so this package does
   * not depend on @ringmaster/operator (which depends on it).
   */
  operator?: LocalOperatorCommand;
}

/** How to start one operator process, e.g. `{ command: process.execPath, args: ['packages/cli/bin/ringmaster.js', 'operator'] }`. */
export interface LocalOperatorCommand {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Only these workload clusters (default: every one). */
  clusters?: string[];
}

/** One cluster of the fleet: its API server and an admin client for it. */
export interface FleetCluster {
  name: string;
  role: 'workload' | 'management';
  server: string;
  /** A kubeconfig with this cluster alone (admin user). */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  client: KubeClient;
  /** Names of its kwok nodes (none for the management cluster). */
  nodes: string[];
}

/** A running local fleet. */
export interface LocalFleet {
  dir: string;
  /** A kubeconfig with one context per cluster, named after the cluster. */
  kubeconfigPath: string;
  clusters: FleetCluster[];
  cluster(name: string): FleetCluster;
  management?: FleetCluster;
  argocd?: LocalArgoCd;
  versions: FleetVersions;
  /** Stops one cluster's API server (its etcd data stays), e.g. to test that the others go on. */
  stopApiServer(cluster: string): Promise<void>;
  /** Starts a stopped cluster's API server again on the same port. */
  startApiServer(cluster: string): Promise<void>;
  /** The operator process of a workload cluster (with the `operator` option): its pid and metrics URL. */
  operatorOf(cluster: string): { pid: number; metricsUrl: string; log: string } | undefined;
  /** Stops a workload cluster's operator process (SIGTERM, or SIGKILL with `kill: true`). */
  stopOperator(cluster: string, opts?: { kill?: boolean }): Promise<void>;
  /** Starts a stopped operator process of a workload cluster again. */
  startOperator(cluster: string): Promise<void>;
  /** Stops everything and removes the state folder (unless kept); safe to call twice. */
  stop(): Promise<void>;
}

/** What runs, for people and for the demo's screen. */
export interface FleetVersions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  argocd?: string;
  /** Workload clusters with a `ringmaster operator` process (the `operator` option). */
  operators?: number;
}

/** What a detached fleet leaves in `<dir>/fleet.json` for `dev kube env|down`. */
export interface LocalFleetState {
  kubeconfigPath: string;
  clusters: { name: string; role: 'workload' | 'management'; server: string; kubeconfigPath: string; nodes: string[] }[];
  /** Process name → pid and the binary it runs (checked before a stale pid is signalled). */
  processes: { name: string; pid: number; binary: string }[];
  versions: FleetVersions;
  startedAt: string;
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
export const FLEET_STATE_FILE = 'fleet.json';

/** Rejects cluster names that are not DNS labels (they name contexts, files and Argo CD Secrets) and duplicates. */
export function validateClusterNames(names: string[]): void {
  if (names.length === 0) throw new LocalKubeError('a local fleet needs at least one cluster name');
  const seen = new Set<string>();
  for (const name of names) {
    if (!CLUSTER_NAME.test(name)) throw new LocalKubeError(`cluster name ${JSON.stringify(name)} is not a DNS label of at most 40 characters (a-z, 0-9, "-")`);
    if (seen.has(name)) throw new LocalKubeError(`cluster name ${JSON.stringify(name)} is given twice`);
    seen.add(name);
  }
}

interface ClusterPlan {
  name: string;
  role: 'workload' | 'management';
  port: number;
  nodes: string[];
}

function fakeNode(name: string, cluster: string, index: number): object {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      // kwok manages only nodes with this annotation; no taint, so ordinary Pods schedule here
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', [LABELS.cluster]: cluster, 'topology.kubernetes.io/zone': `zone-${index % 3}` },
    },
    status: { allocatable: resources, capacity: resources },
  };
}

/**
 * Beta features of Kubernetes newer than Argo CD v2.14 knows, turned off on the API servers and the
 * controller-manager: Argo CD's server-side diff types live objects with the schema it was built
 * with (Kubernetes 1.31), and a Deployment status carrying `terminatingReplicas` (beta, on by
 * default since 1.35) makes every comparison fail ("field not declared in schema"), leaving each
 * Application's sync status Unknown. Argo CD v3.x knows the field; v2.14 is the newest the module
 * proxy serves here (docs/development.md).
 */
const COMPAT_FEATURE_GATES = '--feature-gates=DeploymentReplicaSetTerminatingReplicas=false';

/** The default StorageClass of a workload cluster: kube-controller-manager's own hostPath provisioner. */
function defaultStorageClass(): object {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'kubernetes.io/host-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}

/**
 * Starts a local fleet on loopback: one etcd (a key prefix per cluster), one kube-apiserver per
 * cluster, and for each workload cluster kube-controller-manager, kube-scheduler and kwok with
 * fake nodes, so Deployments, StatefulSets and EndpointSlices are driven by the real controllers.
 * The management cluster gets Argo CD's real CRDs and, unless `argocd: false`, Argo CD itself.
 */
export async function startLocalFleet(opts: LocalFleetOptions): Promise<LocalFleet> {
  const management = opts.management === false ? undefined : (opts.management ?? 'management');
  const names = [...opts.clusters, ...(management ? [management] : [])];
  validateClusterNames(names);
  const withArgo = management !== undefined && opts.argocd !== false;
  const bins = ensureFleetBinaries();
  const argoBins = withArgo ? ensureArgoCdBinaries() : undefined;
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ringmaster-fleet-'));
  mkdirSync(dir, { recursive: true });
  const keepDir = opts.keepDir ?? !ownDir;
  const detached = opts.detached ?? false;
  const timeoutMs = opts.startTimeoutMs ?? 240_000;
  const nodeCount = opts.nodes ?? 3;

  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true });
  const pki = generateLocalPki(pkiDir);
  const kcmCert = clientCertificate(pkiDir, 'kube-controller-manager', '/CN=system:kube-controller-manager');
  const schedCert = clientCertificate(pkiDir, 'kube-scheduler', '/CN=system:kube-scheduler');
  writeFileSync(join(dir, 'kwok.yaml'), kwokConfig(bins.kwokModuleDir, { crashingImages: opts.crashingImages }));

  const group = new ProcessGroup(dir, { detached, removeDir: !keepDir });
  const plans: ClusterPlan[] = [];
  for (const name of names) {
    const role = name === management ? 'management' : 'workload';
    const nodes = role === 'workload' ? Array.from({ length: nodeCount }, (_, i) => `${name}-node-${i}`) : [];
    plans.push({ name, role, port: await freePort(), nodes });
  }
  const clusters: FleetCluster[] = plans.map((p) => clusterHandle(dir, p, pki));
  const binaryOf = new Map<string, string>();
  const launch = (name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv) => {
    binaryOf.set(name, bin);
    return group.launch(name, bin, args, env);
  };

  const etcdPort = await freePort();
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const apiArgs = (p: ClusterPlan) =>
    apiServerFlags(etcdUrl, p.port, join(dir, p.name), pki, [`--etcd-prefix=/clusters/${p.name}`, COMPAT_FEATURE_GATES, ...(p.role === 'management' ? ['--disable-admission-plugins=ServiceAccount'] : [])], { audit: true });
  const startApi = async (p: ClusterPlan, c: FleetCluster) => {
    launch(`${p.name}-kube-apiserver`, bins.kubeApiserver, apiArgs(p));
    await waitApiReady(c.client, group, `${p.name}-kube-apiserver`, timeoutMs);
  };

  const operatorPorts = new Map<string, number>();
  const startOp = async (p: ClusterPlan, c: FleetCluster): Promise<void> => {
    const op = opts.operator!;
    const name = `${p.name}-operator`;
    const port = operatorPorts.get(p.name) ?? (await freePort());
    operatorPorts.set(p.name, port);
    // the Lease lives in kube-system, as the cluster's own controllers' leases do
    launch(name, op.command, [...op.args, `--kubeconfig=${c.kubeconfigPath}`, `--metrics-port=${port}`, `--identity=${name}`, '--lease-namespace=kube-system'], op.env);
    await waitHealthz(`http://127.0.0.1:${port}/healthz`, group, name, timeoutMs);
  };

  let argocd: LocalArgoCd | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of clusters) c.client.close();
    // controllers first (they would only log the API servers going away), etcd last
    const controllers = Object.keys(group.pids()).filter((n) => !n.endsWith('kube-apiserver') && n !== 'etcd');
    await Promise.all(controllers.map((n) => group.stop(n, 2_000)));
    await group.stopAll([], ['etcd']);
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
    else rmSync(join(dir, FLEET_STATE_FILE), { force: true });
  };

  try {
    launch('etcd', bins.etcd, etcdArgs(join(dir, 'etcd-data'), etcdPort, await freePort()));
    await waitEtcd(etcdUrl, group, timeoutMs);
    // every cluster starts in parallel; on a failure the others finish starting before all is stopped
    const started = await Promise.allSettled(
      plans.map(async (p, i) => {
        const c = clusters[i]!;
        mkdirSync(join(dir, p.name), { recursive: true });
        await startApi(p, c);
        if (p.role === 'workload') await startWorkloadParts(dir, p, c, pki, bins, { kcm: kcmCert, sched: schedCert }, launch, group, timeoutMs);
        if (p.role === 'workload' && opts.operator && (!opts.operator.clusters || opts.operator.clusters.includes(p.name))) await startOp(p, c);
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(plans.map((p) => adminEntry(p, pki))), { mode: 0o600 });
    const mgmt = clusters.find((c) => c.role === 'management');
    if (mgmt && argoBins) {
      argocd = await startLocalArgoCd({ dir, group, launch, bins: argoBins, management: mgmt, workloads: clusters.filter((c) => c.role === 'workload'), pki, timeoutMs, resyncSeconds: opts.argocdResyncSeconds });
    } else if (mgmt) {
      await installArgoCdCrds(mgmt.client, ensureArgoCdModule());
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const versions: FleetVersions = {
    kubernetes: bins.kubernetesVersion,
    etcd: bins.etcdVersion,
    kwok: bins.kwokVersion,
    ...(argoBins ? { argocd: argoBins.argocdVersion } : {}),
    ...(opts.operator ? { operators: operatorPorts.size } : {}),
  };
  const state: LocalFleetState = {
    kubeconfigPath: join(dir, 'kubeconfig'),
    clusters: clusters.map((c) => ({ name: c.name, role: c.role, server: c.server, kubeconfigPath: c.kubeconfigPath, nodes: c.nodes })),
    processes: Object.entries(group.pids()).map(([name, pid]) => ({ name, pid, binary: binaryOf.get(name) ?? '' })),
    versions,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, FLEET_STATE_FILE), JSON.stringify(state, null, 2) + '\n');

  const byName = new Map(clusters.map((c) => [c.name, c]));
  const cluster = (name: string): FleetCluster => {
    const c = byName.get(name);
    if (!c) throw new LocalKubeError(`the local fleet has no cluster named ${JSON.stringify(name)}`);
    return c;
  };
  const planOf = (name: string): ClusterPlan => plans[clusters.indexOf(cluster(name))]!;
  return {
    dir,
    kubeconfigPath: state.kubeconfigPath,
    clusters,
    cluster,
    management: clusters.find((c) => c.role === 'management'),
    argocd,
    versions,
    stopApiServer: (name) => group.stop(`${planOf(name).name}-kube-apiserver`, 2_000),
    startApiServer: (name) => startApi(planOf(name), cluster(name)),
    operatorOf: (name) => {
      const pid = group.pids()[`${planOf(name).name}-operator`];
      const port = operatorPorts.get(name);
      return pid === undefined || port === undefined ? undefined : { pid, metricsUrl: `http://127.0.0.1:${port}/metrics`, log: group.logOf(`${name}-operator`) };
    },
    stopOperator: async (name, o) => {
      const proc = `${planOf(name).name}-operator`;
      const pid = group.pids()[proc];
      if (pid !== undefined && o?.kill) process.kill(pid, 'SIGKILL');
      await group.stop(proc, 5_000);
    },
    startOperator: async (name) => {
      const p = planOf(name);
      if (!opts.operator || p.role !== 'workload') throw new LocalKubeError(`cluster ${name} runs no operator (startLocalFleet's operator option, workload clusters only)`);
      await startOp(p, cluster(name));
    },
    stop,
  };
}

function adminEntry(p: ClusterPlan, pki: LocalPki): KubeconfigEntry {
  return { name: p.name, server: `https://127.0.0.1:${p.port}`, caCert: pki.caCert, cert: pki.adminCert, key: pki.adminKey, user: 'admin' };
}

function clusterHandle(dir: string, p: ClusterPlan, pki: LocalPki): FleetCluster {
  const kubeconfigPath = join(dir, `${p.name}.kubeconfig`);
  writeFileSync(kubeconfigPath, kubeconfigYaml([adminEntry(p, pki)]), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return { name: p.name, role: p.role, server: `https://127.0.0.1:${p.port}`, kubeconfigPath, kubeConfig, client: new KubeClient(kubeConfig), nodes: p.nodes };
}

type Launch = (name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv) => unknown;

/** kube-controller-manager and kube-scheduler (each with its own identity and kubeconfig), kwok and its nodes. */
async function startWorkloadParts(
  dir: string,
  p: ClusterPlan,
  c: FleetCluster,
  pki: LocalPki,
  bins: FleetBinaries,
  certs: { kcm: { cert: string; key: string }; sched: { cert: string; key: string } },
  launch: Launch,
  group: ProcessGroup,
  timeoutMs: number,
): Promise<void> {
  const own = (user: string, cert: { cert: string; key: string }) => {
    const path = join(dir, p.name, `${user}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml([{ name: p.name, server: c.server, caCert: pki.caCert, cert: cert.cert, key: cert.key, user }]), { mode: 0o600 });
    return path;
  };
  const kcmConfig = own('kube-controller-manager', certs.kcm);
  const schedConfig = own('kube-scheduler', certs.sched);
  const kcmPort = await freePort();
  const schedPort = await freePort();
  const kwokPort = await freePort();
  const serving = (config: string, port: number, name: string) => [
    `--kubeconfig=${config}`,
    `--authentication-kubeconfig=${config}`,
    `--authorization-kubeconfig=${config}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, p.name, name)}`,
    '--leader-elect=false',
    '--v=1',
  ];
  launch(`${p.name}-kube-controller-manager`, bins.kubeControllerManager, [
    ...serving(kcmConfig, kcmPort, 'kube-controller-manager'),
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--use-service-account-credentials=true',
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    // PersistentVolumeClaims (a StatefulSet's volumeClaimTemplates) are bound to hostPath volumes
    // the PV controller itself provisions, through the default StorageClass below
    '--enable-hostpath-provisioner=true',
    COMPAT_FEATURE_GATES,
  ]);
  launch(`${p.name}-kube-scheduler`, bins.kubeScheduler, serving(schedConfig, schedPort, 'kube-scheduler'));
  launch(`${p.name}-kwok`, bins.kwok, [
    `--kubeconfig=${c.kubeconfigPath}`,
    `--config=${join(dir, 'kwok.yaml')}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--node-lease-duration-seconds=40',
    '--cidr=10.244.0.1/16',
    '--node-ip=10.1.0.1',
    `--server-address=127.0.0.1:${kwokPort}`,
  ]);
  for (const [i, node] of p.nodes.entries()) await c.client.create(fakeNode(node, p.name, i) as never);
  await c.client.create(defaultStorageClass() as never);
  await Promise.all([
    waitHealthz(`https://127.0.0.1:${kcmPort}/healthz`, group, `${p.name}-kube-controller-manager`, timeoutMs),
    waitHealthz(`https://127.0.0.1:${schedPort}/healthz`, group, `${p.name}-kube-scheduler`, timeoutMs),
    waitHealthz(`http://127.0.0.1:${kwokPort}/healthz`, group, `${p.name}-kwok`, timeoutMs),
  ]);
  await waitNodesReady(c, group, `${p.name}-kwok`, timeoutMs);
  // a component that exited after another process answered its health check (a port taken in between)
  for (const part of ['kube-controller-manager', 'kube-scheduler', 'kwok']) {
    const exited = group.exitedError(`${p.name}-${part}`);
    if (exited) throw exited;
  }
}

async function waitNodesReady(c: FleetCluster, group: ProcessGroup, kwok: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const exited = group.exitedError(kwok);
    if (exited) throw exited;
    const nodes = await c.client.list('v1', 'Node');
    const ready = nodes.items.filter((n) => ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'));
    if (ready.length >= c.nodes.length) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new LocalKubeError(`the kwok nodes of cluster ${c.name} did not turn Ready within ${timeoutMs} ms; kwok's log is ${group.logOf(kwok)}`);
}

/** Reads the state a detached fleet left in `dir`; undefined when there is none. `running` is true when every process still runs. */
export function readLocalFleetState(dir: string): (LocalFleetState & { running: boolean }) | undefined {
  const file = join(dir, FLEET_STATE_FILE);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalFleetState;
  return { ...state, running: state.processes.every((p) => runs(p.pid, p.binary)) };
}

/** Stops a detached fleet started in `dir` and removes its data; false when none was there. */
export async function stopLocalFleetAt(dir: string): Promise<boolean> {
  const state = readLocalFleetState(dir);
  if (!state) return false;
  // a pid from an old state file may belong to an unrelated process by now: check what it runs
  const live = state.processes.filter((p) => runs(p.pid, p.binary));
  await Promise.all(live.filter((p) => p.name !== 'etcd').map((p) => terminate(p.pid, 2_000)));
  for (const p of live.filter((x) => x.name === 'etcd')) await terminate(p.pid);
  rmSync(dir, { recursive: true, force: true });
  return true;
}
