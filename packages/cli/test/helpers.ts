import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'bin', 'ringmaster.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary folder for one test file. */
export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `ringmaster-cli-${name}-`));
}

/**
 * The environment of a user who has configured nothing: no server, token or context from the
 * machine running the tests, and a config file of the test's own.
 */
export function cleanEnv(configFile: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RINGMASTER_CONFIG: configFile };
  for (const k of ['RINGMASTER_SERVER', 'RINGMASTER_TOKEN', 'RINGMASTER_CONTEXT', 'NO_COLOR', 'XDG_CONFIG_HOME']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs the real CLI in a child process (asynchronously, so a server in the test process keeps answering). */
export function ringmaster(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
