import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_FLEET, TempRepo } from '../../fleet/test/helpers.ts';
import { BIN, ringmaster } from './helpers.ts';

let repo: TempRepo;
let base: string;
let changed: string;
beforeAll(() => {
  repo = new TempRepo(EXAMPLE_FLEET);
  base = repo.commit('fleet');
  repo.edit('apps/edge-proxy/app.yaml', 'replicas: 2', 'replicas: 4');
  changed = repo.commit('edge proxy: 4 replicas');
});
afterAll(() => repo?.cleanup());

const ESC = '\x1b[';

/** Runs the CLI on a pseudo-terminal (util-linux `script`), so its stdout is a TTY as in a person's shell. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const line = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-q', '-e', '-c', line, '/dev/null'], { env: { ...process.env, NO_COLOR: undefined, ...env } }, (err, stdout, stderr) => {
      // plan exits 2 when it finds changes
      if (err && (err as { code?: unknown }).code !== 2) reject(new Error(stderr || err.message));
      else resolve(stdout);
    });
  });
}

describe('colour', () => {
  const plan = () => ['plan', '--repo', repo.dir, '--from', base, '--to', changed];

  it('colours a plan\'s diff on a terminal', async () => {
    expect(await onTerminal(plan())).toContain(`${ESC}32m+`);
  });

  it('never colours when NO_COLOR is set', async () => {
    const out = await onTerminal(plan(), { NO_COLOR: '1' });
    expect(out).toContain('replicas: 4');
    expect(out).not.toContain(ESC);
  });

  it('never colours with --no-color', async () => {
    const out = await onTerminal([...plan(), '--no-color']);
    expect(out).toContain('replicas: 4');
    expect(out).not.toContain(ESC);
  });

  it('never colours when stdout is not a terminal', async () => {
    const r = await ringmaster(plan(), { env: { ...process.env, NO_COLOR: undefined } });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('replicas: 4');
    expect(r.stdout).not.toContain(ESC);
  });
});
