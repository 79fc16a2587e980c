import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'ringmaster.js');
const dir = mkdtempSync(join(tmpdir(), 'ringmaster-cli-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('ringmaster token create + ringmaster serve', () => {
  it('bootstraps the first admin in the database, serves the API with it, and never logs the token', async () => {
    const token = execFileSync('node', [bin, 'token', 'create', '--name', 'first-admin', '--role', 'admin', '--data-dir', dir], { encoding: 'utf8' }).trim();
    expect(token).toMatch(/^rmt_[A-Za-z0-9_-]{43}$/);
    const listed = JSON.parse(execFileSync('node', [bin, 'token', 'list', '--data-dir', dir, '-o', 'json'], { encoding: 'utf8' }));
    expect(listed).toEqual([expect.objectContaining({ name: 'first-admin', role: 'admin', revokedAt: null })]);

    child = spawn('node', [bin, 'serve', '--data-dir', dir, '--port', '0', '--rings', 'dev,prod'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 30_000);
      child!.stdout!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child!.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${log}`)));
    });
    const res = await fetch(`${url}/api/v1/events`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'commit', app: 'shop', commit: 'abcdef1234567' }),
    });
    expect(res.status).toBe(201);
    expect((await (await fetch(`${url}/api/v1/settings`, { headers: { authorization: `Bearer ${token}` } })).json()).rings).toEqual(['dev', 'prod']);
    expect((await fetch(`${url}/api/v1/changes`)).status).toBe(401);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    expect(log).toContain('"msg":"request completed"');
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.slice(4));
  });

  it('refuses an unknown role with a precise message', () => {
    let stderr = '';
    try {
      execFileSync('node', [bin, 'token', 'create', '--name', 'x', '--role', 'root', '--data-dir', dir], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      stderr = String((err as { stderr: string }).stderr);
    }
    expect(stderr).toContain('--role must be one of viewer, deployer, approver, admin (got "root")');
  });
});
