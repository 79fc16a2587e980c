import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { git } from '@ringmaster/fleet';
import { formatTrailers } from '../journey/trailers.ts';

/** Trailer naming the step of a manifest commit (deliver or rollback); with release and cluster it identifies the commit. */
export const STEP_TRAILER = 'Ringmaster-Step';

export interface ManifestRepoOptions {
  /** Local path or remote URL of the manifest repository (cloned into workDir). */
  url: string;
  /** Private work folder for the clone. */
  workDir: string;
  /** Branch Argo CD follows (default main). */
  branch?: string;
  author?: { name: string; email: string };
  /** Attempts when a push is rejected because another writer pushed first (default 10). */
  maxAttempts?: number;
}

/** One commit: the folders of one cluster's instances, for one release step. */
export interface ManifestWrite {
  release: string;
  step: string;
  sourceRevision: string;
  ring: string;
  cluster: string;
  title: string;
  /** Instance folders to replace; `files: null` removes the folder. */
  instances: Array<{ instance: string; files: Array<{ file: string; yaml: string }> | null }>;
}

/**
 * Writes rendered manifests into a Git repository, one folder per cluster and instance, one commit
 * per (release, step, cluster). Idempotent: the commit is first looked up by its trailers. Safe with
 * concurrent writers: a rejected push fetches, re-applies the folders on the new tip and pushes again.
 */
export class ManifestRepo {
  readonly branch: string;
  private ready: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly author: { name: string; email: string };

  constructor(private readonly opts: ManifestRepoOptions) {
    this.branch = opts.branch ?? 'main';
    this.author = opts.author ?? { name: 'Ringmaster', email: 'ringmaster@localhost' };
  }

  get url(): string {
    return this.opts.url;
  }

  private git(args: string[]): Promise<string> {
    return git(this.opts.workDir, ['-c', `user.name=${this.author.name}`, '-c', `user.email=${this.author.email}`, ...args]).then((b) => b.toString('utf8').trim());
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      if (!existsSync(join(this.opts.workDir, '.git'))) {
        await mkdir(dirname(this.opts.workDir), { recursive: true });
        await rm(this.opts.workDir, { recursive: true, force: true });
        await git(dirname(this.opts.workDir), ['clone', '--quiet', '--no-checkout', this.opts.url, this.opts.workDir]);
      }
      // the work clone is ours alone: lock files left there were left by a process that died mid-operation
      const dotGit = join(this.opts.workDir, '.git');
      for (const lock of ['index.lock', 'HEAD.lock', 'packed-refs.lock', `refs/heads/${this.branch}.lock`, `refs/remotes/origin/${this.branch}.lock`]) {
        await rm(join(dotGit, lock), { force: true });
      }
      await this.fetch();
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  private async fetch(): Promise<boolean> {
    const heads = await this.git(['ls-remote', '--heads', 'origin', this.branch]);
    if (!heads) return false;
    await this.git(['fetch', '--quiet', 'origin', `+refs/heads/${this.branch}:refs/remotes/origin/${this.branch}`]);
    return true;
  }

  private async hasRemoteBranch(): Promise<boolean> {
    return this.git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${this.branch}`]).then(() => true, () => false);
  }

  /** Serialises writes inside this process; other processes are handled by push rejection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The commit of (release, step, cluster) on the branch, if it was written already. */
  async findCommit(release: string, step: string, cluster: string): Promise<string | undefined> {
    await this.init();
    if (!(await this.hasRemoteBranch())) return undefined;
    const out = await this.git([
      'log', `refs/remotes/origin/${this.branch}`, '--format=%H', '-E', '--all-match', '--max-count=1',
      `--grep=^Ringmaster-Release: ${escapeRegex(release)}$`, `--grep=^${STEP_TRAILER}: ${escapeRegex(step)}$`, `--grep=^Ringmaster-Cluster: ${escapeRegex(cluster)}$`,
    ]);
    return out || undefined;
  }

  /** Writes the step's commit unless it exists; returns its SHA. */
  async ensureCommit(w: ManifestWrite): Promise<{ commit: string; created: boolean }> {
    await this.init();
    return this.exclusive(async () => {
      const max = this.opts.maxAttempts ?? 10;
      for (let attempt = 1; ; attempt++) {
        const found = await this.findCommit(w.release, w.step, w.cluster);
        if (found) return { commit: found, created: false };
        const commit = await this.commitOnTip(w);
        try {
          await this.git(['push', '--quiet', 'origin', `HEAD:refs/heads/${this.branch}`]);
          await this.git(['update-ref', `refs/remotes/origin/${this.branch}`, commit]);
          return { commit, created: true };
        } catch (err) {
          // another writer pushed first: take its commits and apply ours on top of them
          if (attempt >= max) throw err;
          await this.fetch();
        }
      }
    });
  }

  private async commitOnTip(w: ManifestWrite): Promise<string> {
    if (await this.hasRemoteBranch()) {
      await this.git(['checkout', '--quiet', '--force', '-B', this.branch, `refs/remotes/origin/${this.branch}`]);
    } else {
      await this.git(['symbolic-ref', 'HEAD', `refs/heads/${this.branch}`]);
    }
    await this.git(['clean', '-fdq']);
    for (const inst of w.instances) {
      const dir = join(this.opts.workDir, w.cluster, inst.instance);
      await rm(dir, { recursive: true, force: true });
      if (inst.files) {
        await mkdir(dir, { recursive: true });
        await Promise.all(inst.files.map((f) => writeFile(join(dir, f.file), f.yaml)));
      }
    }
    await this.git(['add', '-A', '--', w.cluster]);
    const message = `${w.title}\n\n${formatTrailers({ release: w.release, sourceRevision: w.sourceRevision, ring: w.ring, cluster: w.cluster })}\n${STEP_TRAILER}: ${w.step}\n`;
    // an unchanged folder still gets its commit: the commit is the step's record and Argo CD's target
    await this.git(['commit', '--quiet', '--allow-empty', '--no-verify', '-m', message]);
    return this.git(['rev-parse', 'HEAD']);
  }

  /** The full message of a commit of the manifest repo (undefined when unknown). */
  async commitMessage(commit: string): Promise<string | undefined> {
    await this.init();
    return this.git(['log', '-1', '--format=%B', commit]).catch(() => undefined);
  }

  /** True when `revision` (e.g. what Argo CD synced) is `commit` or a descendant of it. */
  async includes(revision: string, commit: string): Promise<boolean> {
    if (revision === commit) return true;
    await this.init();
    const known = await this.git(['cat-file', '-e', `${revision}^{commit}`]).then(() => true, () => false);
    if (!known) await this.exclusive(() => this.fetch());
    return this.git(['merge-base', '--is-ancestor', commit, revision]).then(() => true, () => false);
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
