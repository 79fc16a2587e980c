import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureKubeBinaries, type KubeBinaries } from './binaries.ts';
import { adminKubeconfig, generateLocalPki, type LocalPki } from './certs.ts';
import { KubeClient } from './client.ts';
import { installArgoCrds } from './crds.ts';
import { LocalKubeError } from './errors.ts';

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

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // last line of defence: a failing test or an uncaught error must not leave servers behind
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A free TCP port on 127.0.0.1: `preferred` when it is free, else one the kernel picks (then released). */
export function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
      });
    });
  // a preferred port (e.g. a well-known default) when it is free, any free port otherwise
  return preferred ? tryPort(preferred).catch(() => tryPort(0)) : tryPort(0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and waits until the process is gone. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitExit(pid, 5_000);
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
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
  if (!detached) installExitHook();

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

  let watchdog: ChildProcess | undefined;
  if (!detached) {
    // if this Node process dies without running exit hooks (SIGKILL), the watchdog reaps the servers
    const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; for f in "$2"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; ' + (keepDir ? 'true' : 'rm -rf "$2"');
    watchdog = spawn('sh', ['-c', script, 'ringmaster-kube-watchdog', String(process.pid), dir], { detached: true, stdio: 'ignore' });
    watchdog.unref();
  }

  const launch = (name: string, bin: string, args: string[]): ChildProcess => {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', log, log], detached });
    closeSync(log);
    if (child.pid === undefined) throw new LocalKubeError(`could not start ${bin}`);
    writeFileSync(join(dir, `${name}.pid`), String(child.pid));
    if (detached) child.unref();
    else {
      running.add(child);
      child.once('exit', () => running.delete(child));
    }
    return child;
  };

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = launch('etcd', bins.etcd, [
    '--name=default',
    `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ]);

  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${dir}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=RBAC',
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--v=1',
    ...(opts.apiServerArgs ?? []),
  ];
  let apiserver: ChildProcess | undefined;

  const waitReady = async (child: ChildProcess, logName: string): Promise<void> => {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new LocalKubeError(`${logName} exited (${child.exitCode ?? child.signalCode}) while starting; last log lines:\n${tail(join(dir, `${logName}.log`))}`);
      }
      try {
        const body = await client.request<string>('GET', '/readyz', { timeoutMs: 5_000 });
        if (String(body).trim() === 'ok') return;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(250);
    }
    throw new LocalKubeError(`kube-apiserver was not ready after ${timeoutMs} ms (${last}); last log lines:\n${tail(join(dir, `${logName}.log`))}`);
  };

  const startApiServer = async (): Promise<void> => {
    apiserver = launch('kube-apiserver', bins.kubeApiserver, apiArgs);
    await waitReady(apiserver, 'kube-apiserver');
    writeState();
  };
  const stopApiServer = async (): Promise<void> => {
    // with CRDs installed kube-apiserver's graceful shutdown can hang ~10 s after it stopped listening;
    // the data is in etcd already, so a short grace before SIGKILL loses nothing
    if (apiserver?.pid !== undefined) await terminate(apiserver.pid, 2_000);
    rmSync(join(dir, 'kube-apiserver.pid'), { force: true });
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
    await stopApiServer();
    if (etcd.pid !== undefined) await terminate(etcd.pid);
    if (watchdog?.pid !== undefined) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
    else rmSync(join(dir, 'state.json'), { force: true });
  };

  try {
    await waitEtcd(etcdUrl, etcd, dir, timeoutMs);
    await startApiServer();
    if (opts.argoCrds !== false) await installArgoCrds(client);
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, etcdUrl, kubeconfigPath, kubeConfig, client, dir, kubernetesVersion: bins.kubernetesVersion, etcdVersion: bins.etcdVersion, stopApiServer, startApiServer, stop };
}

async function waitEtcd(url: string, child: ChildProcess, dir: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new LocalKubeError(`etcd exited (${child.exitCode ?? child.signalCode}) while starting; last log lines:\n${tail(join(dir, 'etcd.log'))}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new LocalKubeError(`etcd was not healthy after ${timeoutMs} ms; last log lines:\n${tail(join(dir, 'etcd.log'))}`);
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

function runs(pid: number, binary: string): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return argv0 === binary || argv0.endsWith('/' + binary);
  } catch {
    return false;
  }
}
