import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alive, startHangingFixture } from './process-helpers.ts';
import { LocalKubeError, validateClusterNames } from '../src/index.ts';
import { waitHealthz } from '../src/healthz.ts';
import { ProcessGroup } from '../src/processes.ts';

describe('local fleet lifecycle', () => {
  it('names a component that fails to start and its log file, quoting the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-fleet-fail-'));
    const group = new ProcessGroup(dir, { detached: false, removeDir: true });
    try {
      group.launch('east-kube-scheduler', '/bin/sh', ['-c', 'echo "E1201 unknown flag: --bogus" >&2; exit 3']);
      const err = await waitHealthz('https://127.0.0.1:1/healthz', group, 'east-kube-scheduler', 30_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LocalKubeError);
      expect((err as Error).message).toContain(`east-kube-scheduler exited (3) while starting; its log is ${join(dir, 'east-kube-scheduler.log')}`);
      expect((err as Error).message).toContain('unknown flag: --bogus');
    } finally {
      await group.stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses cluster names that are not DNS labels, or given twice', () => {
    expect(() => validateClusterNames(['east', '__proto__'])).toThrow(/"__proto__" is not a DNS label/);
    expect(() => validateClusterNames(['../etc'])).toThrow(/not a DNS label/);
    expect(() => validateClusterNames(['east', 'east'])).toThrow(/given twice/);
    expect(() => validateClusterNames([])).toThrow(/at least one/);
  });

  it('kills every fleet process when the Node process that started them is killed outright', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/local-fleet/start-and-hang.ts', import.meta.url));
    const { child, started } = await startHangingFixture<{ dir: string; pids: number[] }>(fixture);
    expect(started.pids.length).toBeGreaterThanOrEqual(5); // etcd, kube-apiserver, controller-manager, scheduler, kwok
    expect(started.pids.every(alive)).toBe(true);
    child.kill('SIGKILL'); // no exit hooks run: the watchdog has to clean up
    await expect.poll(() => started.pids.some(alive) || existsSync(started.dir), { timeout: 30_000, interval: 200 }).toBe(false);
  }, 600_000);
});
