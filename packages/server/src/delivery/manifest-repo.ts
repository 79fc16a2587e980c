import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GitError } from '@ringmaster/fleet';
import { formatTrailers, parseTrailers } from '../journey/trailers.ts';
import { redactUrl } from '../storage/storage.ts';
import { abortReason, runGit } from './git-process.ts';

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

  private git(args: string[], opts: { input?: Buffer; signal?: AbortSignal } = {}): Promise<string> {
    return runGit(this.opts.workDir, ['-c', `user.name=${this.author.name}`, '-c', `user.email=${this.author.email}`, ...args], opts).then((b) => b.toString('utf8').trim());
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      if (!existsSync(join(this.opts.workDir, '.git'))) {
        await mkdir(dirname(this.opts.workDir), { recursive: true });
        await rm(this.opts.workDir, { recursive: true, force: true });
        await runGit(dirname(this.opts.workDir), ['clone', '--quiet', '--no-checkout', this.opts.url, this.opts.workDir]);
      }
      await this.clearLocks();
      await this.fetch();
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  /** The work clone is ours alone: lock files left there were left by a git that died (or was killed) mid-operation. */
  private async clearLocks(): Promise<void> {
    const dotGit = join(this.opts.workDir, '.git');
    for (const lock of ['index.lock', 'HEAD.lock', 'packed-refs.lock', 'refs/ringmaster/write.lock', `refs/heads/${this.branch}.lock`, `refs/remotes/origin/${this.branch}.lock`]) {
      await rm(join(dotGit, lock), { force: true });
    }
  }

  private async fetch(signal?: AbortSignal): Promise<boolean> {
    const heads = await this.git(['ls-remote', '--heads', 'origin', this.branch], { signal });
    if (!heads) return false;
    await this.git(['fetch', '--quiet', 'origin', `+refs/heads/${this.branch}:refs/remotes/origin/${this.branch}`], { signal });
    return true;
  }

  private async hasRemoteBranch(signal?: AbortSignal): Promise<boolean> {
    return this.git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${this.branch}`], { signal }).then(() => true, () => false);
  }

  /** Serialises fetches inside this process; other processes are handled by push rejection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The commit of (release, step, cluster) on the branch, if it was written already. */
  async findCommit(release: string, step: string, cluster: string): Promise<string | undefined> {
    await this.init();
    return (await this.findMany([{ release, step, cluster }])).get(keyOf({ release, step, cluster }))?.commit;
  }

  /**
   * Whether the commit of (release, step, cluster) is on the remote branch now, asked of the remote
   * itself (fetched first): after a cancelled push, this is what says whether the write landed.
   */
  async landed(release: string, step: string, cluster: string): Promise<{ commit: string; message: string } | undefined> {
    await this.init();
    return this.exclusive(async () => {
      await this.fetch();
      return (await this.findMany([{ release, step, cluster }])).get(keyOf({ release, step, cluster }));
    });
  }

  /** Looks up many steps with one `git log` over the commits of their releases. */
  private async findMany(keys: Array<{ release: string; step: string; cluster: string }>, signal?: AbortSignal): Promise<Map<string, { commit: string; message: string }>> {
    const found = new Map<string, { commit: string; message: string }>();
    if (!keys.length || !(await this.hasRemoteBranch(signal))) return found;
    const releases = [...new Set(keys.map((k) => k.release))];
    const out = await this.git(['log', `refs/remotes/origin/${this.branch}`, '--format=%H%x00%B%x01', '-E', `--grep=^Ringmaster-Release: (${releases.map(escapeRegex).join('|')})$`], { signal });
    for (const entry of out.split('\x01')) {
      const [sha, message] = entry.trim().split('\0');
      if (!sha || message === undefined) continue;
      const t = parseTrailers(message);
      const step = new RegExp(`^${STEP_TRAILER}: (\\S+)$`, 'm').exec(message)?.[1];
      if (!t.release || !t.cluster || !step) continue;
      const key = keyOf({ release: t.release, step, cluster: t.cluster });
      // the log runs newest first: keep the oldest, the one written first
      found.set(key, { commit: sha, message });
    }
    return found;
  }

  /**
   * Writes the step's commit unless it exists; returns its SHA and message. Writes requested at the
   * same time go out together: one `git fast-import` (no work tree) and one push for all of them.
   * Aborting `signal` cancels the write: a queued one is dropped, a running batch is killed (its other
   * writes fail and are retried by their callers); whether a killed push landed, `landed` says.
   */
  async ensureCommit(w: ManifestWrite, opts: { signal?: AbortSignal } = {}): Promise<{ commit: string; created: boolean; message: string }> {
    await this.init();
    const { signal } = opts;
    if (signal?.aborted) throw abortReason(signal);
    return new Promise((resolve, reject) => {
      const entry: PendingWrite = { w, signal, resolve, reject };
      this.pending.push(entry);
      signal?.addEventListener('abort', () => {
        const i = this.pending.indexOf(entry);
        if (i >= 0) {
          this.pending.splice(i, 1);
          reject(abortReason(signal));
        }
      }, { once: true });
      this.kick();
    });
  }

  private pending: PendingWrite[] = [];
  private flushing = false;

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    // let writes issued in the same turn (a wave starting several clusters) join the batch
    setImmediate(() => {
      const batch = this.pending.splice(0);
      const signals = batch.flatMap((b) => (b.signal ? [b.signal] : []));
      const signal = signals.length ? AbortSignal.any(signals) : undefined;
      const run = async () => {
        try {
          return batch.length ? await this.writeBatch(batch.map((b) => b.w), signal) : [];
        } catch (err) {
          if (signal?.aborted) await this.clearLocks();
          throw err;
        }
      };
      void this.exclusive(run)
        .then((results) => batch.forEach((b, i) => b.resolve(results[i]!)), (err: unknown) => batch.forEach((b) => b.reject(err)))
        .finally(() => {
          this.flushing = false;
          if (this.pending.length) this.kick();
        });
    });
  }

  private async writeBatch(writes: ManifestWrite[], signal?: AbortSignal): Promise<Array<{ commit: string; created: boolean; message: string }>> {
    const max = this.opts.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      const found = await this.findMany(writes, signal);
      const todo = new Map<string, ManifestWrite>();
      for (const w of writes) if (!found.has(keyOf(w))) todo.set(keyOf(w), w);
      if (todo.size === 0) return writes.map((w) => ({ ...found.get(keyOf(w))!, created: false }));
      const made = await this.importCommits([...todo.values()], signal);
      try {
        const tip = made[made.length - 1]!.commit;
        await this.git(['push', '--quiet', 'origin', `${tip}:refs/heads/${this.branch}`], { signal });
        await this.git(['update-ref', `refs/remotes/origin/${this.branch}`, tip]);
        const byKey = new Map([...todo.keys()].map((k, i) => [k, made[i]!]));
        const seen = new Set<string>();
        return writes.map((w) => {
          const k = keyOf(w);
          const mine = byKey.get(k);
          if (mine && !seen.has(k)) {
            seen.add(k);
            return { ...mine, created: true };
          }
          return { ...(mine ?? found.get(k)!), created: false };
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        // another writer pushed first: take its commits and write ours again on top of them
        if (attempt >= max) throw this.pushError(err, attempt);
        await this.fetch(signal);
      }
    }
  }

  /** A push failure that names the remote and branch and keeps git's own message (credentials in the URL hidden). */
  private pushError(err: unknown, attempts: number): GitError {
    const why = (err as Error).message.replace(/^git push failed in \S+: /, '');
    return new GitError(`pushing to the manifest repo ${redactUrl(this.opts.url)} (branch ${this.branch}) failed after ${attempts} attempt(s): ${why}`, { cause: err });
  }

  /** Creates one commit per write, chained on the remote branch's tip, with git fast-import. */
  private async importCommits(writes: ManifestWrite[], signal?: AbortSignal): Promise<Array<{ commit: string; message: string }>> {
    const parent = (await this.hasRemoteBranch(signal)) ? await this.git(['rev-parse', `refs/remotes/origin/${this.branch}`], { signal }) : undefined;
    const when = `${Math.floor(Date.now() / 1000)} +0000`;
    const chunks: Buffer[] = [];
    const text = (t: string) => chunks.push(Buffer.from(t, 'utf8'));
    const data = (content: string) => {
      const b = Buffer.from(content, 'utf8');
      text(`data ${b.length}\n`);
      chunks.push(b);
      text('\n');
    };
    const messages: string[] = [];
    writes.forEach((w, i) => {
      const message = `${w.title}\n\n${formatTrailers({ release: w.release, sourceRevision: w.sourceRevision, ring: w.ring, cluster: w.cluster })}\n${STEP_TRAILER}: ${w.step}\n`;
      messages.push(message);
      text(`commit refs/ringmaster/write\nmark :${i + 1}\nauthor ${this.author.name} <${this.author.email}> ${when}\ncommitter ${this.author.name} <${this.author.email}> ${when}\n`);
      data(message);
      if (i > 0) text(`from :${i}\n`);
      else if (parent) text(`from ${parent}\n`);
      for (const inst of w.instances) {
        const dir = `${w.cluster}/${inst.instance}`;
        text(`D ${dir}\n`);
        for (const f of inst.files ?? []) {
          text(`M 100644 inline ${dir}/${f.file}\n`);
          data(f.yaml);
        }
      }
      text('\n');
    });
    const marks = join(this.opts.workDir, '.git', 'ringmaster-marks');
    await this.git(['fast-import', '--quiet', '--force', `--export-marks=${marks}`], { input: Buffer.concat(chunks), signal });
    const shas = new Map((await readFile(marks, 'utf8')).split('\n').filter(Boolean).map((l) => {
      const [mark, sha] = l.split(' ');
      return [Number(mark!.slice(1)), sha!] as const;
    }));
    return writes.map((_, i) => ({ commit: shas.get(i + 1)!, message: messages[i]! }));
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

interface PendingWrite {
  w: ManifestWrite;
  signal: AbortSignal | undefined;
  resolve: (r: { commit: string; created: boolean; message: string }) => void;
  reject: (e: unknown) => void;
}

function keyOf(k: { release: string; step: string; cluster: string }): string {
  return `${k.release}\0${k.step}\0${k.cluster}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
