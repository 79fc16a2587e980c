import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real Git repository in a temporary folder, with fixed author and commit times for stable tests. */
export class TestRepo {
  readonly dir: string;
  constructor(name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `ringmaster-${name}-`));
    this.git('init', '-q', '-b', 'main');
  }

  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, encoding: 'utf8', env: { ...process.env, ...this.env } }).trim();
  }

  private env: Record<string, string> = {};

  /** Commits everything in the work tree as `author` at `at`; returns the commit SHA. */
  commit(message: string, author: { name: string; email: string }, at: string): string {
    this.env = {
      GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_AUTHOR_DATE: at,
      GIT_COMMITTER_NAME: author.name, GIT_COMMITTER_EMAIL: author.email, GIT_COMMITTER_DATE: at,
    };
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** The commit as a journey event would carry it (message, author, time), read back from Git. */
  show(sha: string): { message: string; author: string; authorEmail: string; occurredAt: string } {
    const [author, authorEmail, at] = this.git('show', '-s', '--format=%an%x00%ae%x00%aI', sha).split('\0');
    return { message: this.git('show', '-s', '--format=%B', sha), author: author!, authorEmail: authorEmail!, occurredAt: at! };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
