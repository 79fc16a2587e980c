import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { Fleet } from '@ringmaster/fleet';
import { ConflictError } from '../errors.ts';

// A request becomes Git: the new instance file (provision) or the instance's removal (decommission)
// is one commit on the fleet repo's branch, with trailers naming the request. The commit is built
// with Git's plumbing on a private index, so a dry run makes the very commit it previews without
// touching any branch or work tree.

const run = promisify(execFile);
const IDENT = { GIT_AUTHOR_NAME: 'Ringmaster', GIT_AUTHOR_EMAIL: 'ringmaster@localhost', GIT_COMMITTER_NAME: 'Ringmaster', GIT_COMMITTER_EMAIL: 'ringmaster@localhost' };
export const REQUEST_TRAILER = 'Ringmaster-Request';

async function git(repo: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const p = run('git', args, { cwd: repo, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 });
  if (opts.input !== undefined) p.child.stdin?.end(opts.input);
  return (await p).stdout.trim();
}

/** One file change of a commit: new text, or null to delete the file. */
export interface FileChange {
  path: string;
  text: string | null;
}

/** The branch a request commits to: the one checked out in the fleet repo (default main). */
export async function fleetBranch(repo: string): Promise<string> {
  const ref = await git(repo, ['symbolic-ref', '-q', 'HEAD']).catch(() => '');
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : 'main';
}

export async function branchTip(repo: string, branch: string): Promise<string> {
  return git(repo, ['rev-parse', '--verify', `refs/heads/${branch}^{commit}`]);
}

/** The text of a new instance file holding one Instance. */
export function instanceFileText(input: { name: string; app: string; cluster: string; values?: Record<string, unknown> }, request: { id: string; ticket?: string | null }): string {
  const doc = { apiVersion: 'ringmaster.dev/v1alpha1', kind: 'Instance', name: input.name, app: input.app, cluster: input.cluster, ...(input.values && Object.keys(input.values).length ? { values: input.values } : {}) };
  return `# Provisioned by Ringmaster request ${request.id}${request.ticket ? ` (ticket ${request.ticket})` : ''}.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** The file change that removes one instance: its file deleted, or the file rewritten without its document. */
export function instanceRemoval(fleet: Fleet, name: string): FileChange {
  const inst = fleet.instances.get(name)!;
  const file = inst.origin.file;
  const rest = [...fleet.instances.values()].filter((i) => i.origin.file === file && i.name !== name).sort((a, b) => a.origin.location.line - b.origin.location.line);
  if (!rest.length) return { path: file, text: null };
  const text = rest.map((d, i) => {
    const t = d.origin.doc.toString();
    return i > 0 && !t.startsWith('---') ? `---\n${t}` : t;
  }).join('');
  return { path: file, text };
}

/** Builds (does not publish) a commit of `changes` on `base`. */
export async function buildCommit(repo: string, base: string, changes: FileChange[], message: string): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'ringmaster-request-'));
  const env = { GIT_INDEX_FILE: join(tmp, 'index') };
  try {
    await git(repo, ['read-tree', base], { env });
    for (const c of changes) {
      if (c.text === null) await git(repo, ['update-index', '--force-remove', c.path], { env });
      else {
        const blob = await git(repo, ['hash-object', '-w', '--stdin'], { input: c.text });
        await git(repo, ['update-index', '--add', '--cacheinfo', `100644,${blob},${c.path}`], { env });
      }
    }
    const tree = await git(repo, ['write-tree'], { env });
    return await git(repo, ['commit-tree', tree, '-p', base, '-F', '-'], { input: message, env: IDENT });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `git diff` of a commit against its parent: what a reviewer would read. */
export async function commitDiff(repo: string, base: string, commit: string): Promise<string> {
  return git(repo, ['diff', '--no-color', '--no-ext-diff', base, commit]);
}

/** The commit on `branch` that carries `Ringmaster-Request: <id>`, if one was published (a restart must not commit twice). */
export async function publishedCommit(repo: string, branch: string, id: string): Promise<string | null> {
  const out = await git(repo, ['log', '--format=%H', '-n', '1', '--fixed-strings', `--grep=${REQUEST_TRAILER}: ${id}`, `refs/heads/${branch}`]).catch(() => '');
  return out || null;
}

/**
 * Moves `branch` from `base` to `commit` and nothing else: a fast-forward of the work tree when the
 * branch is checked out in a non-bare repo (so the work tree stays whole), else a compare-and-swap
 * update of the ref. A branch that moved meanwhile answers ConflictError (build on the new tip).
 */
export async function publishCommit(repo: string, branch: string, base: string, commit: string): Promise<void> {
  const bare = (await git(repo, ['rev-parse', '--is-bare-repository'])) === 'true';
  const checkedOut = !bare && (await fleetBranch(repo)) === branch && (await git(repo, ['symbolic-ref', '-q', 'HEAD']).catch(() => '')) !== '';
  const tip = await branchTip(repo, branch);
  if (tip !== base) throw new ConflictError(`branch ${branch} of the fleet repo moved from ${base.slice(0, 12)} to ${tip.slice(0, 12)}`);
  if (checkedOut) {
    await git(repo, ['merge', '--ff-only', '--quiet', commit]).catch((err: Error & { stderr?: string }) => {
      throw new ConflictError(`the fleet repo's work tree cannot take the commit (${(err.stderr ?? err.message).trim().split('\n')[0]}): commit or stash its local changes`);
    });
  } else {
    await git(repo, ['update-ref', `refs/heads/${branch}`, commit, base]);
  }
}
