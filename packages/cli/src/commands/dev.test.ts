import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { KubeClient, stopLocalKubeAt } from '@ringmaster/kube';
import { main } from '../main.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'ringmaster', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

describe('ringmaster dev kube', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'ringmaster-dev-')), 'kube');
  afterAll(async () => {
    await stopLocalKubeAt(dir);
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('starts a detached API that kubectl-style clients can use, reports it again, and stops it', async () => {
    const up = await run(['dev', 'kube', 'up', '--dir', dir, '--output', 'json']);
    expect(up.code).toBe(0);
    const info = JSON.parse(up.out) as { started: boolean; kubeconfig: string; server: string; export: string };
    expect(info.started).toBe(true);
    expect(info.export).toBe(`export KUBECONFIG=${info.kubeconfig}`);
    const namespaces = await KubeClient.fromFile(info.kubeconfig).list('v1', 'Namespace');
    expect(namespaces.items.map((n) => n.metadata.name)).toContain('kube-system');

    const again = JSON.parse((await run(['dev', 'kube', 'up', '--dir', dir, '-o', 'json'])).out) as { started: boolean; server: string };
    expect(again).toMatchObject({ started: false, server: info.server });
    expect((await run(['dev', 'kube', 'env', '--dir', dir])).out).toBe(`${info.export}\n`);

    expect(JSON.parse((await run(['dev', 'kube', 'down', '--dir', dir, '-o', 'json'])).out)).toEqual({ stopped: true, dir });
    const env = await run(['dev', 'kube', 'env', '--dir', dir]);
    expect(env.code).toBe(1);
    expect(env.err).toMatch(/no local Kubernetes API is running in .*: start one with `ringmaster dev kube up`/);
  });
});
