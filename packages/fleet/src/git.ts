import { spawn } from 'node:child_process';
import { GitError } from './errors.ts';

/** Runs git in `repo` and resolves to its stdout; rejects with a GitError carrying git's own message. */
export function git(repo: string, args: string[], input?: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new GitError(`cannot run git (${e.message}); install git and make sure it is on PATH`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitError(`git ${args[0]} failed in ${repo}: ${Buffer.concat(err).toString().trim() || `exit code ${code}`}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Resolves a revision (branch, tag, SHA, HEAD~1…) to a full commit SHA, or fails naming the revision. */
export async function resolveRevision(repo: string, rev: string): Promise<string> {
  return (await resolveCommitAndTree(repo, rev)).commit;
}

/** Resolves a revision to its commit and root tree in one git call. */
export async function resolveCommitAndTree(repo: string, rev: string): Promise<{ commit: string; tree: string }> {
  if (rev.startsWith('-') || rev.trim() === '') throw new GitError(`invalid revision "${rev}"`);
  try {
    const [commit, tree] = (await git(repo, ['rev-parse', `${rev}^{commit}`, `${rev}^{tree}`])).toString().trim().split('\n');
    return { commit: commit!, tree: tree! };
  } catch {
    try {
      await git(repo, ['rev-parse', '--git-dir']);
    } catch (e) {
      throw new GitError(`${repo} is not a Git repository (or git is missing): ${(e as Error).message}`);
    }
    throw new GitError(`unknown revision "${rev}" in ${repo}; list revisions with \`git -C ${repo} log --oneline\``);
  }
}

export interface TreeEntry {
  type: 'blob' | 'tree';
  sha: string;
  /** A symbolic link (mode 120000): its blob holds the target path, not content. */
  link?: true;
}

/** Lists every file and folder of a commit (recursively) without touching the work tree. */
export async function listTree(repo: string, commit: string): Promise<Map<string, TreeEntry>> {
  const raw = (await git(repo, ['ls-tree', '-r', '-t', '-z', '--full-tree', commit])).toString();
  const entries = new Map<string, TreeEntry>();
  for (const rec of raw.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, sha] = rec.slice(0, tab).split(' ');
    if (type === 'blob' || type === 'tree') entries.set(rec.slice(tab + 1), mode === '120000' ? { type, sha: sha!, link: true } : { type, sha: sha! });
  }
  return entries;
}

/** Reads many blobs in one `git cat-file --batch` call. */
export async function readBlobs(repo: string, shas: string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(shas)];
  const result = new Map<string, Buffer>();
  if (unique.length === 0) return result;
  const out = await git(repo, ['cat-file', '--batch'], unique.join('\n') + '\n');
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    const header = out.subarray(pos, nl).toString();
    const [sha, type, size] = header.split(' ');
    if (type === 'missing') throw new GitError(`object ${sha} is missing from ${repo}`);
    const len = Number(size);
    result.set(sha!, out.subarray(nl + 1, nl + 1 + len));
    pos = nl + 1 + len + 1;
  }
  return result;
}
