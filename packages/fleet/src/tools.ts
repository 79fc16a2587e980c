import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { RenderToolError } from './errors.ts';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The tool ran past its time limit and was killed. */
  timedOut?: boolean;
}

/** The cache folder the set-up scripts build binaries into (scripts/lib.sh). */
export function cacheDir(): string {
  return process.env.RINGMASTER_CACHE ?? join(homedir(), '.cache', 'ringmaster');
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds an external tool: the path in `envVar` if set, then the project's cache (for binaries the
 * set-up scripts build, like helm), then PATH. Returns the candidates tried when it is missing.
 */
export function findTool(name: string, envVar: string): { path?: string; tried: string[] } {
  const tried: string[] = [];
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    tried.push(`${envVar}=${fromEnv}`);
    return executable(fromEnv) ? { path: fromEnv, tried } : { tried };
  }
  const cached = join(cacheDir(), 'bin', name);
  tried.push(cached);
  if (executable(cached)) return { path: cached, tried };
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (executable(p)) return { path: p, tried };
  }
  tried.push('PATH');
  return { tried };
}

const located = new Map<string, string>();

/** Runs an external renderer; a missing binary is a RenderToolError that says how to install it. */
export async function runTool(
  name: string,
  args: string[],
  opts: { envVar: string; what: string; input?: string; timeoutMs?: number },
): Promise<ToolResult> {
  let bin = located.get(name + opts.envVar);
  if (!bin) {
    const found = findTool(name, opts.envVar);
    if (!found.path) {
      throw new RenderToolError(
        `${opts.what} is not installed: looked for "${name}" in ${found.tried.join(', ')}. ` +
          `Run \`npm run setup\` (it builds helm from its Go module), install it on PATH, or set ${opts.envVar} to its path.`,
      );
    }
    bin = found.path;
    located.set(name + opts.envVar, bin);
  }
  const path = bin;
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HELM_CACHE_HOME: process.env.HELM_CACHE_HOME ?? join(cacheDir(), 'helm-cache') } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new RenderToolError(`cannot run ${path}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
