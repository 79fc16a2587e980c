import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.ts';
import { FleetRepo, manifestRemote } from '../../server/test/flighting/fixture.ts';
import { cleanEnv, ringmaster, tempDir, type Run } from './helpers.ts';

const dir = tempDir('config');
const config = join(dir, 'config.yaml');
const tokenFile = join(dir, 'prod.token');
let server: TestServer;
let fleet: FleetRepo;
let remote: string;
const outputs: Run[] = [];

/** Every run is kept, so the last test can check that no output ever showed a token. */
async function rm(args: string[], extra: Record<string, string | undefined> = {}): Promise<Run> {
  const r = await ringmaster(args, { env: cleanEnv(config, extra) });
  outputs.push(r);
  return r;
}

beforeAll(async () => {
  fleet = new FleetRepo('cfg');
  fleet.commit('initial');
  remote = manifestRemote();
  server = await startTestServer({ dataDir: join(dir, 'data') }, { flighting: { fleetRepo: fleet.dir, manifestRepo: { url: remote }, workDir: join(dir, 'work'), engine: false } });
  writeFileSync(tokenFile, server.admin + '\n', { mode: 0o600 });
}, 60_000);
afterAll(async () => {
  await server?.close();
  fleet?.remove();
  for (const d of [dir, remote]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('config contexts', () => {
  it('set-context writes a 0600 file that refers to the token file, and the first context becomes current', async () => {
    const r = await rm(['config', 'set-context', 'prod', '--server', server.url, '--token-file', tokenFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const text = readFileSync(config, 'utf8');
    expect(text).toContain(`tokenFile: ${tokenFile}`);
    expect(text).not.toContain(server.admin);
    expect((await rm(['config', 'current-context'])).stdout).toBe('prod\n');
  });

  it('release commands use the current context: no flag, no environment variable', async () => {
    const r = await rm(['release', 'list', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ releases: [] });
  });

  it('takes flags over the environment over the context', async () => {
    const envWins = await rm(['release', 'list'], { RINGMASTER_TOKEN: 'rmt_wrong' });
    expect(envWins.code).toBe(1);
    expect(envWins.stderr).toContain('the bearer token is unknown or revoked');
    const flagWins = await rm(['release', 'list', '--token', server.admin], { RINGMASTER_TOKEN: 'rmt_wrong' });
    expect(flagWins.code, flagWins.stderr).toBe(0);
  });

  it('never sends a context\'s token to a server named elsewhere', async () => {
    const r = await rm(['release', 'list', '--server', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: a token is needed');
  });

  it('keeps a token given with --token in the file, shows it redacted, and takes a default output', async () => {
    const set = await rm(['config', 'set-context', 'staging', '--server', `${server.url}/`, '--token', server.admin, '--output', 'json']);
    expect(set.code, set.stderr).toBe(0);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const table = await rm(['config', 'get-contexts']);
    expect(table.stdout.split('\n').slice(0, 3).map((l) => l.split(/\s+/).slice(0, 5).join(' '))).toEqual([
      'CURRENT NAME SERVER TOKEN OUTPUT',
      `* prod ${server.url} file ${tokenFile}`,
      ` staging ${server.url}/ <redacted> json`,
    ]);
    const json = JSON.parse((await rm(['config', 'get-contexts', '-o', 'json'])).stdout);
    expect(json.contexts.map((c: { name: string; token: string }) => [c.name, c.token])).toEqual([['prod', `file ${tokenFile}`], ['staging', '<redacted>']]);
    // --context picks another context for one command; its default output applies without -o
    const listed = await rm(['--context', 'staging', 'release', 'list']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ releases: [] });
    expect((await rm(['release', 'list', '--context', 'staging', '-o', 'table'])).stdout).toBe('no releases\n');
  });

  it('switches with use-context and refuses an unknown context by listing the known ones', async () => {
    expect((await rm(['config', 'use-context', 'staging'])).code).toBe(0);
    expect((await rm(['config', 'current-context'])).stdout).toBe('staging\n');
    const unknown = await rm(['release', 'list', '--context', 'qa']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`error: context "qa" is not defined in ${config} (contexts: prod, staging)`);
    expect((await rm(['config', 'use-context', 'qa'])).stderr).toContain('no context "qa"');
  });

  it('points at the line and column of a mistake in the file', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'currentContext: a\ncontexts:\n  - name: a\n    server: ftp://example.net\n');
    const r = await ringmaster(['release', 'list'], { env: cleanEnv(broken) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${broken}:4:13: server "ftp://example.net" must be an http:// or https:// URL`);
  });

  it('finds the file under XDG_CONFIG_HOME when RINGMASTER_CONFIG is not set', async () => {
    const xdg = join(dir, 'xdg');
    const r = await rm(['config', 'set-context', 'local', '--server', 'http://127.0.0.1:7420'], { RINGMASTER_CONFIG: undefined, XDG_CONFIG_HOME: xdg });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(xdg, 'ringmaster', 'config.yaml'), 'utf8')).toContain('name: local');
    expect(statSync(join(xdg, 'ringmaster', 'config.yaml')).mode & 0o777).toBe(0o600);
  });

  it('never printed a token', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const r of outputs) {
      expect(r.stdout + r.stderr).not.toContain(server.admin);
      expect(r.stdout + r.stderr).not.toContain(server.admin.slice(4, 20));
    }
  });
});
