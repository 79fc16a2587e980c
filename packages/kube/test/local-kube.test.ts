import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alive, startHangingFixture } from './process-helpers.ts';
import { LocalKubeError, locateKubeBinaries, startLocalKube } from '../src/index.ts';

describe('local control plane lifecycle', () => {
  it('serves the pinned Kubernetes version and stops without leaving processes or files', async () => {
    const kube = await startLocalKube({ argoCrds: false });
    let pids: number[] = [];
    try {
      const version = await kube.client.request<{ gitVersion: string }>('GET', '/version');
      expect(version.gitVersion).toBe(kube.kubernetesVersion);
      const state = JSON.parse(readFileSync(join(kube.dir, 'state.json'), 'utf8')) as { pids: { etcd: number; kubeApiserver: number } };
      pids = [state.pids.etcd, state.pids.kubeApiserver];
      expect(pids.every(alive)).toBe(true);
    } finally {
      await kube.stop();
    }
    expect(pids.some(alive)).toBe(false);
    expect(existsSync(kube.dir)).toBe(false);
  });

  it('kills etcd and kube-apiserver when the Node process that started them is killed outright', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/local-kube/start-and-hang.ts', import.meta.url));
    const { child, started } = await startHangingFixture<{ dir: string; etcd: number; apiserver: number }>(fixture);
    expect(alive(started.etcd) && alive(started.apiserver)).toBe(true);
    child.kill('SIGKILL'); // no exit hooks run: the watchdog has to clean up
    const left = () => ({ etcd: alive(started.etcd), apiserver: alive(started.apiserver), dir: existsSync(started.dir) });
    await expect.poll(left, { timeout: 20_000, interval: 100, message: 'the watchdog to reap the servers' }).toEqual({ etcd: false, apiserver: false, dir: false });
  });

  it('reports a control plane that cannot start with the reason from its log, and stops what it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-kube-fail-'));
    try {
      const err = await startLocalKube({ dir, argoCrds: false, startTimeoutMs: 30_000, apiServerArgs: ['--no-such-flag'], binaries: locateKubeBinaries()! }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LocalKubeError);
      expect((err as Error).message).toMatch(/kube-apiserver exited .*unknown flag: --no-such-flag/s);
      expect(alive(Number(readFileSync(join(dir, 'etcd.pid'), 'utf8')))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
