import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.ts';
import { FleetRepo, manifestRemote, releaseHold, rings, type ClusterDef } from '../../server/test/flighting/fixture.ts';
import { SharedFleet } from '../../server/test/flighting/fleet-info.ts';
import { BIN, cleanEnv, ringmaster, tempDir, type Run } from './helpers.ts';

/** Three direct-mode clusters, one per ring; canary needs a manual approval. */
const CLUSTERS: ClusterDef[] = [
  { name: 'dev-1', ring: 'dev', mode: 'direct' },
  { name: 'canary-1', ring: 'canary', mode: 'direct' },
  { name: 'prod-1', ring: 'prod', mode: 'direct', labels: { wave: '1' } },
];
const prefix = `cli${process.pid % 1000}`;
const dir = tempDir('release');
let kube: SharedFleet;
let server: TestServer;
let fleet: FleetRepo;
let remote: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  kube = new SharedFleet();
  fleet = new FleetRepo(prefix, rings({ canaryApproval: 'manual', deadline: '5m' }), CLUSTERS);
  fleet.commit('initial fleet');
  remote = manifestRemote();
  server = await startTestServer({ dataDir: join(dir, 'data') }, {
    flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: join(dir, 'work'), access: kube.access(), timeScale: 0.1, pollIntervalMs: 100 },
  });
  env = cleanEnv(join(dir, 'config.yaml'), { RINGMASTER_SERVER: server.url, RINGMASTER_TOKEN: server.admin });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await kube?.cleanup(prefix);
  kube?.close();
  fleet?.remove();
  for (const d of [dir, remote]) if (d) rmSync(d, { recursive: true, force: true });
}, 60_000);

const cli = (...args: string[]) => ringmaster(['release', ...args], { env });
const json = async (...args: string[]) => {
  const r = await cli(...args, '-o', 'json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const state = async (id: string) => (await json('status', id)).state as string;

/** `release status ID --watch` on a pipe, followed while it runs. */
function watch(id: string): { stdout: () => string; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, 'release', 'status', id, '--watch', '--interval', '0.2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  return { stdout: () => stdout, done };
}


/** A watch on a pipe: the full view once, then only lines that say what changed. */
function expectChangeLines(stdout: string, id: string): string[] {
  const all = stdout.split('\n').filter(Boolean);
  const start = all.findIndex((l) => /^\d\d:\d\d:\d\d /.test(l));
  expect(start, stdout).toBeGreaterThan(0);
  expect(all[0]).toMatch(new RegExp(`^release ${id}  `));
  const lines = all.slice(start);
  expect(all.filter((l) => l.startsWith(`release ${id}  `)), 'the view is printed once').toHaveLength(1);
  for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d (release|ring|cluster|rollback|progress) /);
  for (let i = 1; i < lines.length; i++) expect(lines[i]!.slice(9), 'a line repeats what the one before said').not.toBe(lines[i - 1]!.slice(9));
  return lines.map((l) => l.slice(9));
}

describe('release commands', () => {
  let first: string;

  it('lists releases with filters by state and app', async () => {
    first = (await json('create', 'main', '-m', 'first')).id;
    await expect.poll(() => state(first), { timeout: 90_000, interval: 250 }).toBe('waiting_for_approval');
    expect((await json('list', '--state', 'waiting_for_approval')).releases.map((r: { id: string }) => r.id)).toEqual([first]);
    expect((await json('list', '--app', 'appserver')).releases.map((r: { id: string }) => r.id)).toEqual([first]);
    expect((await json('list', '--app', 'edge-proxy')).releases).toEqual([]);
    expect((await json('list', '--state', 'succeeded')).releases).toEqual([]);
    const table = await cli('list');
    expect(table.stdout).toMatch(new RegExp(`^ID\\s+STATE\\s+REVISION.*\\n${first}\\s+waiting_for_approval\\s+[0-9a-f]{12}\\s+appserver\\s+3\\s`));
  }, 120_000);

  it('approves the one release waiting for approval without its id, and a watch on a pipe prints only changes', async () => {
    const watching = watch(first);
    await expect.poll(() => watching.stdout(), { timeout: 60_000, interval: 100 }).toContain(`release ${first}  `);
    const approved = await json('approve');
    expect(approved.id).toBe(first);
    expect(approved.rings.find((r: { ring: string }) => r.ring === 'canary').approval.approvedBy).toMatch(/^admin-/);
    const watched = await watching.done;
    expect(watched.code, watched.stderr).toBe(0);
    const lines = expectChangeLines(watched.stdout, first);
    expect(lines.some((l) => /^ring canary: waiting_for_approval \(approval\) → /.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /^cluster prod-1 \(prod\): (pending|in flight) → succeeded$/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.at(-2)).toMatch(/^release .*: in_progress → succeeded$/);
    expect(lines.at(-1)).toBe('progress 3 clusters: 3 succeeded');
    const none = await cli('approve');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error: no release is waiting for approval');
  }, 120_000);

  it('says what is true of a release that failed and rolled back', async () => {
    // the bad image's Pods start held, so the watch sees dev-1 in flight before they crash-loop
    fleet.hold(['synchronizer', 'backend', 'frontend']);
    const bad = (await json('create', 'main', '--image', 'appserver=appserver:6.6.6-bad')).id;
    const watching = watch(bad);
    await expect.poll(() => watching.stdout(), { timeout: 60_000, interval: 100 }).toContain(`release ${bad}  `);
    const dev = kube.client('dev-1');
    await expect.poll(() => releaseHold(dev, `${prefix}-dev-1`, 'synchronizer'), { timeout: 60_000, interval: 200 }).toBeGreaterThan(0);
    const watched = await watching.done;
    expect(watched.code).toBe(1);
    const lines = expectChangeLines(watched.stdout, bad);
    expect(lines.some((l) => /^cluster dev-1 \(dev\): in flight → failed \(.*CrashLoopBackOff/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /^rollback dev-1: .*succeeded$/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.at(-2)).toMatch(new RegExp(`^release ${bad}: .* → rolled_back — 1 cluster rolled back to what they held before$`));
    expect(lines.at(-1)).toBe('progress 3 clusters: 1 rolled back, 2 not reached');

    const status = (await cli('status', bad)).stdout;
    const [head, table, rollback] = status.split('\n\n');
    expect(head!.split('\n')[0]).toBe(`release ${bad}  rolled_back — 1 cluster rolled back to what they held before`);
    expect(head).toContain('progress 3 clusters: 1 rolled back, 2 not reached');
    expect(status).not.toContain('rolling back');
    expect(status).not.toContain('needs approval');
    const rows = table!.split('\n').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^dev\s+rolled_back\s+1 failed\s+dev-1\s+direct\s+rolled back\s+[0-9a-f]{12}/);
    expect(rows[1]).toMatch(/^canary\s+not reached\s+1 not reached\s+canary-1\s+direct\s+not reached\s+-/);
    expect(rows[2]).toMatch(/^prod\s+not reached\s+1 wave=1 not reached\s+prod-1\s+direct\s+not reached\s+-/);
    expect(rollback).toMatch(/^rollback \(re-delivers what each cluster held before this release\):\nCLUSTER\s+STATE\s+COMMIT\s+REASON\ndev-1\s+succeeded\s+[0-9a-f]{12}/);
  }, 180_000);
});
