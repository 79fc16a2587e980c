import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureKubeBinaries, type KubeBinaries } from './binaries.ts';
import { auditFlags } from './audit.ts';
import { adminKubeconfig, generateLocalPki, type LocalPki } from './certs.ts';
import { KubeClient } from './client.ts';
import { installArgoCrds } from './crds.ts';
import { LocalKubeError } from './errors.ts';
import { freePort, ProcessGroup, runs, tail, terminate } from './processes.ts';

/** Options of startLocalKube. */
export interface LocalKubeOptions {
  /** State folder (certificates, etcd data, logs, kubeconfig); a fresh temporary one by default. */
  dir?: string;
  /** Keep the processes running after this Node process exits (for `ringmaster dev kube up`). */
  detached?: boolean;
  /** Keep the state folder on stop() (default: remove it unless `dir` was given). */
  keepDir?: boolean;
  /** Install the Argo CD Application/ApplicationSet CRDs once ready (default true). */
  argoCrds?: boolean;
  /** Milliseconds to wait for /readyz (default 180 s: the first start on 2 cores is slow). */
  startTimeoutMs?: number;
  binaries?: KubeBinaries;
  /** Extra kube-apiserver flags, e.g. ["--watch-cache=false"] so watches read etcd directly. */
  apiServerArgs?: string[];
  /** Write the audit log of writes to `<dir>/audit.log` (see auditLogPath). */
  audit?: boolean;
}

/** A running local control plane (etcd + kube-apiserver on loopback). */
export interface LocalKube {
  server: string;
  /** etcd's client URL (plain HTTP on loopback), e.g. for tests that compact history. */
  etcdUrl: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  client: KubeClient;
  dir: string;
  kubernetesVersion: string;
  etcdVersion: string;
  /** Stops kube-apiserver only (etcd keeps the data), e.g. to test that watches survive a restart. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and etcd, and waits until it is ready. */
  startApiServer(): Promise<void>;
  /** Stops both processes and removes the state folder; safe to call twice. */
  stop(): Promise<void>;
}

/** What a detached control plane leaves in `<dir>/state.json` for `dev kube down|env`. */
export interface LocalKubeState {
  server: string;
  kubeconfigPath: string;
  pids: { etcd: number; kubeApiserver: number };
  kubernetesVersion: string;
  etcdVersion: string;
  startedAt: string;
}

export { freePort, terminate } from './processes.ts';

/** etcd's flags for a single-member, fsync-free store on loopback. */
export function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  const url = `http://127.0.0.1:${clientPort}`;
  return [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

/** kube-apiserver's flags: client-certificate authentication, RBAC, service-account signing keys; with `audit`, the write audit log in `certDir` (see audit.ts). */
export function apiServerFlags(etcdUrl: string, port: number, certDir: string, pki: LocalPki, extra: string[] = [], opts: { audit?: boolean } = {}): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--v=1',
    ...(opts.audit ? auditFlags(certDir) : []),
    ...extra,
  ];
}

/** Waits until kube-apiserver answers /readyz with ok; fails early, naming its log, when the process exits. */
export async function waitApiReady(client: KubeClient, group: ProcessGroup, name: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const exited = group.exitedError(name);
    if (exited) throw exited;
    try {
      const body = await client.request<string>('GET', '/readyz', { timeoutMs: 5_000 });
      if (String(body).trim() === 'ok') return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  throw new LocalKubeError(`${name} was not ready after ${timeoutMs} ms (${last}); its log is ${group.logOf(name)}, last lines:\n${tail(group.logOf(name))}`);
}

/**
 * Starts etcd, then kube-apiserver on free loopback ports with a throwaway PKI, client-certificate
 * authentication, RBAC and the ServiceAccount admission plugin disabled (as controller-runtime's
 * envtest does), waits for /readyz and returns a kubeconfig and a stop function.
 */
export async function startLocalKube(opts: LocalKubeOptions = {}): Promise<LocalKube> {
  const bins = opts.binaries ?? ensureKubeBinaries();
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ringmaster-kube-'));
  mkdirSync(dir, { recursive: true });
  const keepDir = opts.keepDir ?? !ownDir;
  const detached = opts.detached ?? false;
  const timeoutMs = opts.startTimeoutMs ?? 180_000;

  const pki: LocalPki = generateLocalPki(dir);
  const etcdPort = await freePort();
  const peerPort = await freePort();
  const apiPort = await freePort();
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, adminKubeconfig(server, pki), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const client = new KubeClient(kubeConfig);

  const group = new ProcessGroup(dir, { detached, removeDir: !keepDir });
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = group.launch('etcd', bins.etcd, etcdArgs(join(dir, 'etcd-data'), etcdPort, peerPort));
  // no controllers here, so no token controller either: the ServiceAccount admission plugin is off
  const apiArgs = apiServerFlags(etcdUrl, apiPort, dir, pki, ['--disable-admission-plugins=ServiceAccount', ...(opts.apiServerArgs ?? [])], { audit: opts.audit });
  let apiserver: ChildProcess | undefined;

  const startApiServer = async (): Promise<void> => {
    apiserver = group.launch('kube-apiserver', bins.kubeApiserver, apiArgs);
    await waitApiReady(client, group, 'kube-apiserver', timeoutMs);
    writeState();
  };
  const stopApiServer = async (): Promise<void> => {
    // with CRDs installed kube-apiserver's graceful shutdown can hang ~10 s after it stopped listening;
    // the data is in etcd already, so a short grace before SIGKILL loses nothing
    await group.stop('kube-apiserver', 2_000);
  };
  const writeState = (): void => {
    const state: LocalKubeState = {
      server,
      kubeconfigPath,
      pids: { etcd: etcd.pid!, kubeApiserver: apiserver?.pid ?? 0 },
      kubernetesVersion: bins.kubernetesVersion,
      etcdVersion: bins.etcdVersion,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.close();
    await group.stopAll(['kube-apiserver'], ['etcd']);
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
    else rmSync(join(dir, 'state.json'), { force: true });
  };

  try {
    await waitEtcd(etcdUrl, group, timeoutMs);
    await startApiServer();
    if (opts.argoCrds !== false) await installArgoCrds(client);
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, etcdUrl, kubeconfigPath, kubeConfig, client, dir, kubernetesVersion: bins.kubernetesVersion, etcdVersion: bins.etcdVersion, stopApiServer, startApiServer, stop };
}

/** Waits until etcd reports itself healthy; fails early, naming its log, when it exits. */
export async function waitEtcd(url: string, group: ProcessGroup, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const exited = group.exitedError('etcd');
    if (exited) throw exited;
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new LocalKubeError(`etcd was not healthy after ${timeoutMs} ms; its log is ${group.logOf('etcd')}, last lines:\n${tail(group.logOf('etcd'))}`);
}

/** Reads the state a detached control plane left in `dir`; undefined when none is running there. */
export function readLocalKubeState(dir: string): (LocalKubeState & { running: boolean }) | undefined {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalKubeState;
  return { ...state, running: runs(state.pids.kubeApiserver, 'kube-apiserver') && runs(state.pids.etcd, 'etcd') };
}

/** Stops a detached control plane started in `dir` and removes its data; false when none was there. */
export async function stopLocalKubeAt(dir: string): Promise<boolean> {
  const state = readLocalKubeState(dir);
  if (!state) return false;
  // a pid from an old state file may belong to an unrelated process by now: check what it runs
  if (runs(state.pids.kubeApiserver, 'kube-apiserver')) await terminate(state.pids.kubeApiserver, 2_000);
  if (runs(state.pids.etcd, 'etcd')) await terminate(state.pids.etcd);
  rmSync(dir, { recursive: true, force: true });
  return true;
}
