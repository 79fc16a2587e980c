import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ringmaster, tempDir } from './helpers.ts';

const empty = tempDir('empty');
const data = tempDir('data');
afterAll(() => {
  rmSync(empty, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

describe('token commands and --data-dir', () => {
  it('token list refuses a folder that holds no database and leaves it as it was', async () => {
    const r = await ringmaster(['token', 'list', '--data-dir', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${empty} holds no Ringmaster database (ringmaster.db): pass the --data-dir that \`ringmaster serve\` uses, or --database-url`);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('token revoke refuses a folder that does not exist and does not create it', async () => {
    const missing = join(empty, 'typo');
    const r = await ringmaster(['token', 'revoke', 'tok_123', '--data-dir', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('holds no Ringmaster database');
    expect(existsSync(missing)).toBe(false);
  });

  it('token create starts a database, which token list then reads', async () => {
    const created = await ringmaster(['token', 'create', '--name', 'first-admin', '--role', 'admin', '--data-dir', data]);
    expect(created.code, created.stderr).toBe(0);
    const listed = await ringmaster(['token', 'list', '--data-dir', data, '-o', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'first-admin', role: 'admin' })]);
  });
});
