import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A bare Git repository Argo CD reads by its file:// URL, and a work tree that commits and pushes to it. */
export class ManifestRepo {
  readonly root = mkdtempSync(join(tmpdir(), 'ringmaster-manifests-'));
  readonly bare = join(this.root, 'manifests.git');
  readonly work = join(this.root, 'work');
  readonly url = `file://${this.bare}`;

  constructor() {
    this.git(this.root, 'init', '--quiet', '--bare', '--initial-branch=main', this.bare);
    this.git(this.root, 'init', '--quiet', '--initial-branch=main', this.work);
    this.git(this.work, 'remote', 'add', 'origin', this.bare);
  }

  private git(cwd: string, ...args: string[]): string {
    const env = { ...process.env, GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.org', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.org' };
    return execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  }

  /** Writes files (path → content), commits them and pushes to main; returns the commit. */
  commit(files: Record<string, string>, message = 'update'): string {
    for (const [path, content] of Object.entries(files)) {
      const file = join(this.work, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    this.git(this.work, 'add', '-A');
    this.git(this.work, 'commit', '--quiet', '--allow-empty', '-m', message);
    this.git(this.work, 'push', '--quiet', 'origin', 'HEAD:main');
    return this.git(this.work, 'rev-parse', 'HEAD');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
