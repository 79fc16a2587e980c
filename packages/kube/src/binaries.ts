import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const buildScript = join(repoRoot, 'scripts/kube/build.sh');

/** The pinned Kubernetes and etcd versions (scripts/kube/versions.sh is the single source). */
export function pinnedKubeVersions(): { kubernetes: string; etcd: string } {
  const text = readFileSync(join(repoRoot, 'scripts/kube/versions.sh'), 'utf8');
  const pick = (name: string): string => {
    const m = new RegExp(`^${name}=(\\S+)`, 'm').exec(text);
    if (!m) throw new LocalKubeError(`scripts/kube/versions.sh does not set ${name}`);
    return m[1]!;
  };
  return { kubernetes: pick('KUBE_VERSION'), etcd: pick('ETCD_VERSION') };
}

function cacheDir(): string {
  return process.env.RINGMASTER_CACHE ?? join(homedir(), '.cache', 'ringmaster');
}

/** Finds the built binaries (RINGMASTER_KUBE_BIN_DIR overrides the cache); undefined when not built. */
export function locateKubeBinaries(): KubeBinaries | undefined {
  const v = pinnedKubeVersions();
  const dir = process.env.RINGMASTER_KUBE_BIN_DIR ?? join(cacheDir(), 'kube', v.kubernetes, 'bin');
  const kubeApiserver = join(dir, 'kube-apiserver');
  const etcd = join(dir, 'etcd');
  if (!existsSync(kubeApiserver) || !existsSync(etcd)) return undefined;
  return { kubeApiserver, etcd, kubernetesVersion: v.kubernetes, etcdVersion: v.etcd, dir };
}

/** Returns the binaries, building them first with scripts/kube/build.sh when missing (slow the first time). */
export function ensureKubeBinaries(): KubeBinaries {
  const found = locateKubeBinaries();
  if (found) return found;
  // build progress goes to stderr so that machine-readable stdout (--output json) stays clean
  const run = spawnSync('bash', [buildScript], { stdio: ['ignore', 2, 2] });
  const built = locateKubeBinaries();
  if (run.status !== 0 || !built) {
    throw new LocalKubeError(`building kube-apiserver and etcd failed (bash ${buildScript} exited with ${run.status ?? run.signal}); run it by hand to see the error`);
  }
  return built;
}
