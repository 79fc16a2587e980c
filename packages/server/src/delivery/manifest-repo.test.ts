import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManifestRepo, type ManifestWrite } from './manifest-repo.ts';
import { installHook, installSlowHook, isAlive } from '../../test/helpers/hooks.ts';

const dirs: string[] = [];
const temp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `ringmaster-${name}-`));
  dirs.push(d);
  return d;
};
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function bareRemote(): string {
  const dir = temp('remote');
  git(dir, 'init', '-q', '--bare', '-b', 'main');
  return dir;
}

const write = (cluster: string, over: Partial<ManifestWrite> = {}): ManifestWrite => ({
  release: 'r1', step: 'deliver', sourceRevision: 'a'.repeat(40), ring: 'dev', cluster, title: `deliver to ${cluster}`,
  instances: [{ instance: `app-${cluster}`, files: [{ file: 'v1_configmap_x.yaml', yaml: `cluster: ${cluster}\n` }] }],
  ...over,
});

const commitsOf = (remote: string) => git(remote, 'log', 'main', '--format=%H %s').split('\n').filter(Boolean);

describe('ManifestRepo', () => {
  it('writes one commit per (release, step, cluster), with trailers, even when asked twice', async () => {
    const remote = bareRemote();
    const repo = new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone') });
    const first = await repo.ensureCommit(write('c1'));
    expect(first.created).toBe(true);
    const again = await repo.ensureCommit(write('c1'));
    expect(again).toMatchObject({ commit: first.commit, created: false });
    // a fresh clone (a restarted server) finds it too
    const other = new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone') });
    expect(await other.ensureCommit(write('c1'))).toMatchObject({ commit: first.commit, created: false });
    expect(await other.findCommit('r1', 'deliver', 'c')).toBeUndefined();
    const msg = git(remote, 'log', '-1', '--format=%B', first.commit);
    expect(msg).toContain('Ringmaster-Release: r1\nRingmaster-Source-Revision: ' + 'a'.repeat(40) + '\nRingmaster-Ring: dev\nRingmaster-Cluster: c1\nRingmaster-Step: deliver');
    expect(git(remote, 'show', `main:c1/app-c1/v1_configmap_x.yaml`)).toBe('cluster: c1');
    // another step of the same cluster is another commit; a removed instance loses its folder
    const rb = await repo.ensureCommit(write('c1', { step: 'rollback', instances: [{ instance: 'app-c1', files: null }] }));
    expect(rb.created).toBe(true);
    expect(() => git(remote, 'show', 'main:c1/app-c1/v1_configmap_x.yaml')).toThrow();
    expect(await repo.includes(rb.commit, first.commit)).toBe(true);
    expect(await repo.includes(first.commit, rb.commit)).toBe(false);
    expect(commitsOf(remote)).toHaveLength(2);
  });

  it('never loses a commit when several writers push at once (fetch, re-apply, retry)', async () => {
    const remote = bareRemote();
    const writers = [0, 1, 2].map(() => new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone'), maxAttempts: 50 }));
    const clusters = Array.from({ length: 8 }, (_, i) => `c${i}`);
    const results = await Promise.all(writers.flatMap((w, wi) => clusters.map((c) => w.ensureCommit(write(`${c}-w${wi}`)))));
    expect(new Set(results.map((r) => r.commit)).size).toBe(24);
    expect(commitsOf(remote)).toHaveLength(24);
    for (const wi of [0, 1, 2]) for (const c of clusters) expect(git(remote, 'show', `main:${c}-w${wi}/app-${c}-w${wi}/v1_configmap_x.yaml`)).toBe(`cluster: ${c}-w${wi}`);
  });

  it('writes a step once when two writers race for the same step', async () => {
    const remote = bareRemote();
    const a = new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone') });
    const b = new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone') });
    await a.ensureCommit(write('seed'));
    const [x, y] = await Promise.all([a.ensureCommit(write('same')), b.ensureCommit(write('same'))]);
    expect(x.commit).toBe(y.commit);
    // (when both built the same commit in the same second, its SHA is the same and both pushes succeed: still one commit)
    expect(commitsOf(remote)).toHaveLength(2);
  });

  it('names the remote and keeps git\'s own message when a push is refused', async () => {
    const remote = bareRemote();
    installHook(remote, 'pre-receive', 'echo "policy: the manifest repo is frozen" >&2\nexit 1');
    const repo = new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone'), maxAttempts: 2 });
    const err = await repo.ensureCommit(write('c1')).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`pushing to the manifest repo ${remote} (branch main) failed after 2 attempt(s)`);
    expect((err as Error).message).toContain('policy: the manifest repo is frozen');
    expect((err as Error).message).not.toMatch(/git -c/);
  });

  it('kills a cancelled push with its hooks, so nothing lands after the cancel', async () => {
    const { remote, repo, slow } = await cancelDuringHook('pre-receive');
    // the hook (and the receive-pack that ran it) died with the push: opening the gate now lands nothing
    expect(isAlive(Number(readFileSync(slow.pidFile, 'utf8')))).toBe(false);
    writeFileSync(slow.gate, '');
    expect(await repo.landed('r1', 'deliver', 'c1')).toBeUndefined();
    expect(() => git(remote, 'rev-parse', '--verify', 'main')).toThrow();
    // the repo is usable after the kill (no lock left behind)
    expect((await repo.ensureCommit(write('c1'))).created).toBe(true);
  });

  it('tells after a cancel whether the write landed, from the remote\'s trailers', async () => {
    const { remote, repo } = await cancelDuringHook('post-receive');
    const landed = await repo.landed('r1', 'deliver', 'c1');
    expect(landed?.commit).toBe(git(remote, 'rev-parse', 'main'));
    expect(landed?.message).toContain('Ringmaster-Cluster: c1');
  });
});

/** Starts a write, waits until the remote's slow hook runs, cancels the write and waits for it to settle. */
async function cancelDuringHook(name: 'pre-receive' | 'post-receive') {
  const remote = bareRemote();
  const slow = installSlowHook(remote, name);
  dirs.push(slow.dir);
  const repo = new ManifestRepo({ url: remote, workDir: join(temp('work'), 'clone') });
  const cancel = new AbortController();
  const writing = repo.ensureCommit(write('c1'), { signal: cancel.signal });
  await vi.waitFor(() => expect(existsSync(slow.pidFile)).toBe(true), { timeout: 20_000 });
  cancel.abort(new Error('action timed out'));
  await expect(writing).rejects.toThrow('action timed out');
  return { remote, repo, slow };
}
