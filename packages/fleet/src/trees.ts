import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError } from './errors.ts';
import { cacheDir } from './tools.ts';

/** Extractions unused for this long are removed (a use refreshes a tree's time). */
export const TREE_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** At most this many extractions are kept; the least recently used go first. */
export const TREE_MAX_COUNT = 100;
/** A tree used this recently is never removed, even beyond TREE_MAX_COUNT (another process may be reading it). */
const IN_USE_MS = 10 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/** Where extracted revisions live: private to the user (mode 0700), under the project's cache. */
export function treesDir(): string {
  return process.env.RINGMASTER_TREES ?? join(cacheDir(), 'trees');
}

async function privateDir(): Promise<string> {
  const dir = treesDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  if (process.getuid && st.uid !== process.getuid()) {
    throw new GitError(`${dir} belongs to another user; set RINGMASTER_TREES to a folder of your own for extracted revisions`);
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
  return dir;
}

const inFlight = new Map<string, Promise<string>>();
let lastPrune = 0;

/**
 * Extracts a revision's tree once into the private cache and returns its folder. Concurrent calls
 * for one tree in a process share one extraction; processes extract into folders of their own
 * (mkdtemp) and the first rename wins — a loser uses the winner's tree.
 */
export function extractTree(repo: string, rev: string, tree: string): Promise<string> {
  let p = inFlight.get(tree);
  if (!p) {
    p = extractOnce(repo, rev, tree).finally(() => inFlight.delete(tree));
    inFlight.set(tree, p);
  }
  return p;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function extractOnce(repo: string, rev: string, tree: string): Promise<string> {
  const dir = await privateDir();
  if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = Date.now();
    await pruneTrees(dir);
  }
  const base = join(dir, tree);
  const now = new Date();
  if (await exists(base)) {
    await utimes(base, now, now).catch(() => undefined);
    return base;
  }
  const partial = await mkdtemp(join(dir, `${tree}.partial-`));
  try {
    await extract(repo, rev, partial);
    try {
      await rename(partial, base);
    } catch (e) {
      if (!(await exists(base))) throw e; // not a lost race: a real failure
    }
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return base;
}

/** Removes extractions unused for TREE_MAX_AGE_MS, beyond TREE_MAX_COUNT, and partial ones of crashed processes. */
export async function pruneTrees(dir = treesDir()): Promise<string[]> {
  const entries: { name: string; used: number }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st) entries.push({ name, used: st.mtimeMs });
  }
  entries.sort((a, b) => b.used - a.used);
  const now = Date.now();
  const removed = entries.filter((e, i) => {
    const age = now - e.used;
    if (age < IN_USE_MS) return false;
    return e.name.includes('.partial-') || age > TREE_MAX_AGE_MS || i >= TREE_MAX_COUNT;
  });
  await Promise.all(removed.map((e) => rm(join(dir, e.name), { recursive: true, force: true })));
  return removed.map((e) => e.name);
}

function extract(repo: string, rev: string, into: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const archive = spawn('git', ['archive', '--format=tar', rev], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '--no-same-owner', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] });
    archive.stdout.pipe(tar.stdin);
    let err = '';
    archive.stderr.on('data', (d) => (err += d));
    tar.stderr.on('data', (d) => (err += d));
    tar.on('close', (code) => (code === 0 ? resolvePromise() : reject(new GitError(`cannot extract ${rev} of ${repo}: ${err.trim()}`))));
    archive.on('error', reject);
    tar.on('error', reject);
  });
}
