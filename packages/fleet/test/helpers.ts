import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const EXAMPLE_FLEET = join(import.meta.dirname, '..', '..', '..', 'examples', 'fleet');

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.net',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.net',
};

/** A real Git repository in a temporary folder, seeded with a copy of a fleet. */
export class TempRepo {
  readonly dir: string;
  constructor(seed?: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'ringmaster-fleet-'));
    if (seed) cpSync(seed, this.dir, { recursive: true });
    this.git('init', '-q', '-b', 'main');
    this.git('config', 'commit.gpgsign', 'false');
  }
  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, env: GIT_ENV }).toString().trim();
  }
  commit(message: string): string {
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }
  read(path: string): string {
    return readFileSync(join(this.dir, path), 'utf8');
  }
  write(path: string, text: string): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), text);
  }
  /** Replaces the first occurrence of `from` in a file; fails loudly when it is not there. */
  edit(path: string, from: string, to: string): void {
    const text = this.read(path);
    if (!text.includes(from)) throw new Error(`${path} does not contain ${JSON.stringify(from)}`);
    this.write(path, text.replace(from, to));
  }
  remove(path: string): void {
    rmSync(join(this.dir, path), { recursive: true, force: true });
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
