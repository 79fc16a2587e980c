import { spawn } from 'node:child_process';
import { GitError } from '@ringmaster/fleet';

/** Options of one cancellable git run. */
export interface GitRunOptions {
  input?: string | Buffer;
  /** Aborting kills git and every process it started (a push's receive-pack and hooks, a fetch's transport). */
  signal?: AbortSignal;
}

/** The git subcommand of an argument list: the first word after global options such as `-c key=value`. */
export function subcommandOf(args: string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '-C') i++;
    else if (!a.startsWith('-')) return a;
  }
  return args[0] ?? '';
}

/** The error of an aborted run: the signal's reason when it is an Error (e.g. the action's timeout). */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the git operation was cancelled');
}

/**
 * Runs git in `cwd` and resolves to its stdout; rejects with a GitError naming the subcommand and
 * carrying git's own message. On abort the whole process group is killed, and the promise settles
 * only once every process of it has exited, so the caller knows nothing is still writing.
 */
export function runGit(cwd: string, args: string[], opts: GitRunOptions = {}): Promise<Buffer> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    // its own process group: killing only `git push` would leave receive-pack and its hooks running
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group has exited already
      }
    };
    signal?.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new GitError(`cannot run git (${e.message}); install git and make sure it is on PATH`, { cause: e })));
    child.on('close', (code) => {
      signal?.removeEventListener('abort', kill);
      if (signal?.aborted) reject(abortReason(signal));
      else if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitError(`git ${subcommandOf(args)} failed in ${cwd}: ${Buffer.concat(err).toString().trim() || `exit code ${code}`}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
