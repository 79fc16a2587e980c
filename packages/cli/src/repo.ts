import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { UsageError } from './errors.ts';

const run = promisify(execFile);

/** The top level of the Git repository holding the current folder, as `git rev-parse --show-toplevel` finds it. */
export async function currentRepo(cwd = process.cwd()): Promise<string> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--show-toplevel'], { cwd });
    const top = stdout.trim();
    if (top) return top;
  } catch {
    // not a repository (or no git): the message below says what to do
  }
  throw new UsageError(`--repo is not given and ${cwd} is not inside a Git repository: run from inside the fleet repo or pass --repo DIR`);
}

/**
 * `--repo` defaults to the repository of the current folder, for every command that has the option.
 * A hook rather than a commander default, since finding it runs git (only when the flag is missing).
 */
export function defaultRepoToCurrent(program: Command): void {
  program.hook('preAction', async (_root, action) => {
    if (!action.options.some((o) => o.long === '--repo')) return;
    if (action.getOptionValue('repo') !== undefined) return;
    action.setOptionValueWithSource('repo', await currentRepo(), 'default');
  });
}
