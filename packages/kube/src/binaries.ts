import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalKubeError } from './errors.ts';

/** Paths and versions of the locally built control-plane binaries. */
export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
  kubernetesVersion: string;
  etcdVersion: string;
  dir: string;
}

/** The control plane of a local fleet cluster: the API server plus its controllers and kwok's fake nodes. */
export interface FleetBinaries extends KubeBinaries {
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  kwokVersion: string;
  /** kwok's module folder in the Go module cache, where its default Stages are read from. */
  kwokModuleDir: string;
}

/** Argo CD's multi-call binary (run under its component names) and the Redis it caches in. */
export interface ArgoCdBinaries {
  applicationController: string;
  repoServer: string;
  redisServer: string;
  argocdVersion: string;
  /** The module folder in the Go module cache, where Argo CD's own CRDs are read from. */
  moduleDir: string;
}

/** The pinned versions (scripts/kube/versions.sh is the single source). */
export interface PinnedVersions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  argocd: string;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const script = (name: string) => join(repoRoot, 'scripts/kube', name);

/** The pinned Kubernetes, etcd, kwok and Argo CD versions. */
export function pinnedKubeVersions(): PinnedVersions {
  const text = readFileSync(script('versions.sh'), 'utf8');
  const pick = (name: string): string => {
    const m = new RegExp(`^${name}=(\\S+)`, 'm').exec(text);
    if (!m) throw new LocalKubeError(`scripts/kube/versions.sh does not set ${name}`);
    return m[1]!;
  };
  return { kubernetes: pick('KUBE_VERSION'), etcd: pick('ETCD_VERSION'), kwok: pick('KWOK_VERSION'), argocd: pick('ARGOCD_VERSION') };
}

function cacheDir(): string {
  return process.env.RINGMASTER_CACHE ?? join(homedir(), '.cache', 'ringmaster');
}

function kubeBinDir(v: PinnedVersions): string {
  return process.env.RINGMASTER_KUBE_BIN_DIR ?? join(cacheDir(), 'kube', v.kubernetes, 'bin');
}

/** Finds the built binaries (RINGMASTER_KUBE_BIN_DIR overrides the cache); undefined when not built. */
export function locateKubeBinaries(): KubeBinaries | undefined {
  const v = pinnedKubeVersions();
  const dir = kubeBinDir(v);
  const kubeApiserver = join(dir, 'kube-apiserver');
  const etcd = join(dir, 'etcd');
  if (!existsSync(kubeApiserver) || !existsSync(etcd)) return undefined;
  return { kubeApiserver, etcd, kubernetesVersion: v.kubernetes, etcdVersion: v.etcd, dir };
}

/** Finds the binaries of a local fleet cluster; undefined when one of them is not built. */
export function locateFleetBinaries(): FleetBinaries | undefined {
  const base = locateKubeBinaries();
  if (!base) return undefined;
  const v = pinnedKubeVersions();
  const kubeControllerManager = join(base.dir, 'kube-controller-manager');
  const kubeScheduler = join(base.dir, 'kube-scheduler');
  const kwok = process.env.RINGMASTER_KWOK_BIN ?? join(cacheDir(), 'kwok', v.kwok, 'bin', 'kwok');
  const kwokModuleDir = join(goModCache(), 'sigs.k8s.io', `kwok@${v.kwok}`);
  if (![kubeControllerManager, kubeScheduler, kwok, join(kwokModuleDir, 'kustomize', 'stage')].every((p) => existsSync(p))) return undefined;
  return { ...base, kubeControllerManager, kubeScheduler, kwok, kwokVersion: v.kwok, kwokModuleDir };
}

function goModCache(): string {
  return process.env.GOMODCACHE ?? join(process.env.GOPATH ?? join(homedir(), 'go'), 'pkg', 'mod');
}

function argocdModuleDir(version: string): string {
  return join(goModCache(), 'github.com', 'argoproj', 'argo-cd', `v2@${version}`);
}

function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/** Finds Argo CD's binary, its module folder (for the CRDs) and redis-server; undefined when one is missing. */
export function locateArgoCdBinaries(): ArgoCdBinaries | undefined {
  const v = pinnedKubeVersions();
  const bin = join(cacheDir(), 'argocd', v.argocd, 'bin');
  const moduleDir = argocdModuleDir(v.argocd);
  const redisServer = onPath('redis-server');
  const applicationController = join(bin, 'argocd-application-controller');
  const repoServer = join(bin, 'argocd-repo-server');
  if (!redisServer || !existsSync(applicationController) || !existsSync(repoServer) || !existsSync(join(moduleDir, 'manifests', 'crds'))) return undefined;
  return { applicationController, repoServer, redisServer, argocdVersion: v.argocd, moduleDir };
}

/**
 * Runs a build script when `locate` finds nothing, then locates again. A failed build names what
 * it built and its log file (the script prints the log's tail on stderr).
 */
function ensureBuilt<T>(what: string, scripts: string[], logs: string, locate: () => T | undefined): T {
  const found = locate();
  if (found) return found;
  for (const s of scripts) {
    // build progress goes to stderr so that machine-readable stdout (--output json) stays clean
    const run = spawnSync('bash', [s], { stdio: ['ignore', 2, 2] });
    if (run.status !== 0) throw new LocalKubeError(`building ${what} failed (bash ${s} exited with ${run.status ?? run.signal}); its build log is ${logs}`);
  }
  const built = locate();
  if (!built) throw new LocalKubeError(`building ${what} finished but the binaries are not where expected; see ${logs}`);
  return built;
}

/** Returns the binaries, building them first with scripts/kube/build.sh when missing (slow the first time). */
export function ensureKubeBinaries(): KubeBinaries {
  const v = pinnedKubeVersions();
  return ensureBuilt('kube-apiserver and etcd', [script('build.sh')], join(cacheDir(), 'kube', v.kubernetes, '<binary>.log'), locateKubeBinaries);
}

/** The binaries of a local fleet cluster, building kube-controller-manager, kube-scheduler and kwok when missing. */
export function ensureFleetBinaries(): FleetBinaries {
  const v = pinnedKubeVersions();
  const logs = `${join(cacheDir(), 'kube', v.kubernetes, '<binary>.log')} and ${join(cacheDir(), 'kwok', v.kwok, 'build.log')}`;
  return ensureBuilt('kube-controller-manager, kube-scheduler and kwok', [script('build.sh'), script('build-kwok.sh')], logs, locateFleetBinaries);
}

/**
 * Argo CD's module folder in the Go module cache (its CRDs live there), downloading the module
 * when missing: enough for a management cluster without Argo CD running, which needs no build.
 */
export function ensureArgoCdModule(): string {
  const v = pinnedKubeVersions();
  const dir = argocdModuleDir(v.argocd);
  if (existsSync(join(dir, 'manifests', 'crds'))) return dir;
  const run = spawnSync('go', ['mod', 'download', `github.com/argoproj/argo-cd/v2@${v.argocd}`], { cwd: tmpdir(), stdio: ['ignore', 2, 2], env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' } });
  if (run.status !== 0 || !existsSync(join(dir, 'manifests', 'crds'))) throw new LocalKubeError(`downloading Argo CD ${v.argocd}'s module (for its CRDs) failed: go mod download exited with ${run.status ?? run.signal}`);
  return dir;
}

/** Argo CD and redis-server, building Argo CD when missing (several minutes the first time). */
export function ensureArgoCdBinaries(): ArgoCdBinaries {
  const v = pinnedKubeVersions();
  const found = locateArgoCdBinaries();
  if (found) return found;
  if (!onPath('redis-server')) throw new LocalKubeError('redis-server (Debian package redis-server) is required by Argo CD: run bash scripts/setup.sh');
  return ensureBuilt('Argo CD', [script('build-argocd.sh')], join(cacheDir(), 'argocd', v.argocd, 'build.log'), locateArgoCdBinaries);
}
