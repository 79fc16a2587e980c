import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.ts';
import { FleetRepo, manifestRemote, rings, tempDir } from './flighting/fixture.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'ringmaster.js');

let server: TestServer;
let fleet: FleetRepo;
const dirs: string[] = [];

beforeAll(async () => {
  const manual = rings().map((r) => ({ ...r, policy: r.policy.replace('approval: auto', 'approval: manual') }));
  fleet = new FleetRepo('cli', manual);
  fleet.commit('initial');
  const remote = manifestRemote();
  const work = tempDir('work');
  const data = tempDir('data');
  dirs.push(fleet.dir, remote, work, data);
  server = await startTestServer({ dataDir: data }, { flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: work, pollIntervalMs: 50 } });
}, 60_000);

afterAll(async () => {
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function cli(args: string[], token = server.admin): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [BIN, 'release', ...args], { env: { ...process.env, RINGMASTER_SERVER: server.url, RINGMASTER_TOKEN: token } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

it('drives a release from the CLI: create, status, approve (refused for a viewer), pause, resume, abort', async () => {
  const created = await cli(['create', 'main', '--image', 'appserver=appserver:3.0.0', '-m', 'from the CLI', '-o', 'json']);
  expect(created.code, created.stderr).toBe(0);
  const rel = JSON.parse(created.stdout);
  expect(rel.image).toEqual({ app: 'appserver', image: 'appserver:3.0.0' });

  await vi.waitFor(async () => {
    const status = await cli(['status', rel.id, '-o', 'json']);
    expect(JSON.parse(status.stdout).state).toBe('waiting_for_approval');
  }, { timeout: 5_000, interval: 100 });
  const table = await cli(['status', rel.id]);
  expect(table.stdout).toContain(`release ${rel.id}  waiting_for_approval`);
  expect(table.stdout).toMatch(/dev\s+waiting_for_approval\s+approval\s+1 wave=|dev\s+waiting_for_approval\s+approval\s+1 /);
  expect(table.stdout).toContain('dev-1');

  const viewer = await server.token('viewer');
  const refused = await cli(['approve', rel.id], viewer);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/role viewer; this call needs approver/);

  expect((await cli(['pause', rel.id, '-o', 'json'])).stdout).toContain('"paused": true');
  expect(JSON.parse((await cli(['resume', rel.id, '-o', 'json'])).stdout).paused).toBe(false);
  const aborted = await cli(['abort', rel.id, '--reason', 'testing the CLI', '-o', 'yaml']);
  expect(aborted.stdout).toMatch(/state: aborted/);
  const list = await cli(['status']);
  expect(list.stdout).toMatch(new RegExp(`${rel.id}\\s+aborted`));

  fleet.write('instances/broken.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: broken\napp: appserver\ncluster: nowhere\n');
  const sha = fleet.commit('broken');
  const invalid = await cli(['create', sha]);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toMatch(/is invalid/);
  expect(invalid.stderr).toMatch(/instances\/broken\.yaml:\d+:\d+: .*nowhere/);
  expect((await cli(['create', 'main', '--image', 'no-equals-sign'])).stderr).toMatch(/--image must be app=image/);
}, 120_000);
