import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KubeClient, stopLocalFleetAt, stopLocalKubeAt } from '@ringmaster/kube';
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
  const home = mkdtempSync(join(tmpdir(), 'ringmaster-dev-'));
  const dir = join(home, 'kube');
  const fleetDir = join(home, 'elsewhere', 'fleet');
  const savedHome = process.env.RINGMASTER_HOME;
  beforeAll(() => {
    process.env.RINGMASTER_HOME = join(home, 'home');
  });
  afterAll(async () => {
    await stopLocalKubeAt(dir);
    await stopLocalFleetAt(fleetDir);
    if (savedHome === undefined) delete process.env.RINGMASTER_HOME;
    else process.env.RINGMASTER_HOME = savedHome;
    rmSync(home, { recursive: true, force: true });
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

  it('starts a local fleet with one context per cluster, and `down` without --dir stops what `up --dir X` started', async () => {
    const up = await run(['dev', 'kube', 'up', '--clusters', 'east,west', '--no-argocd', '--nodes', '1', '--dir', fleetDir, '-o', 'json']);
    expect(up.err).toBe('');
    expect(up.code).toBe(0);
    const info = JSON.parse(up.out) as { started: boolean; kubeconfig: string; contexts: string[] };
    expect(info.contexts).toEqual(['east', 'west', 'management']);

    const env = JSON.parse((await run(['dev', 'kube', 'env', '-o', 'json'])).out) as { KUBECONFIG: string; contexts: { name: string }[] };
    expect(env.KUBECONFIG).toBe(info.kubeconfig);
    for (const context of ['east', 'west']) {
      const nodes = await KubeClient.fromString(readFileSync(env.KUBECONFIG, 'utf8'), context).list('v1', 'Node');
      expect(nodes.items.map((n) => n.metadata.name)).toEqual([`${context}-node-0`]);
    }

    expect(JSON.parse((await run(['dev', 'kube', 'down', '-o', 'json'])).out)).toEqual({ stopped: true, dir: fleetDir });
    expect(existsSync(fleetDir)).toBe(false);
  }, 600_000);

  it('refuses a cluster name that is not a DNS label', async () => {
    const refused = join(home, 'refused');
    const up = await run(['dev', 'kube', 'up', '--clusters', 'east,__proto__', '--dir', refused]);
    expect(up.code).not.toBe(0);
    expect(up.err).toMatch(/--clusters: cluster name "__proto__" is not a DNS label/);
    expect(existsSync(refused)).toBe(false);
  });
});
