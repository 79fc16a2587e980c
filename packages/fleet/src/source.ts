import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { GitError } from './errors.ts';
import { listTree, readBlobs, resolveCommitAndTree, type TreeEntry } from './git.ts';
import { checkLinksInside } from './links.ts';
import { extractTree } from './trees.ts';

/**
 * Where fleet files come from: the files of a folder as they are on disk, or one Git revision read
 * straight from the object database (the work tree is never touched).
 */
export interface FleetSource {
  /** The repository folder, for messages. */
  readonly root: string;
  /** The commit SHA when reading a revision. */
  readonly revision?: string;
  /** Every file path in the source, posix-style and relative to the root, sorted. */
  files(): string[];
  /** Reads files by path (all at once: one git call for a revision). */
  read(paths: string[]): Promise<Map<string, string>>;
  /** An id of a file's content (Git blob id or content hash): equal ids mean equal content. */
  contentId(path: string): string | undefined;
  /** A hash of a folder's whole content: equal hashes mean equal content. */
  folderHash(dir: string): string;
  /**
   * A real folder on disk holding the source's content at `dir` (for kubectl kustomize and helm).
   * Refuses (FleetValidationError) when a symbolic link reachable from it points outside the repository.
   */
  materialize(dir: string): Promise<string>;
  /** The folder on disk that `materialize` folders are inside of (the repository, or its extraction). */
  materializedRoot(): Promise<string>;
}

const SKIP = new Set(['.git', 'node_modules']);

function once<T>(memo: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = memo.get(key);
  if (!p) memo.set(key, (p = make()));
  return p;
}

/** Opens a fleet repo: a revision when `rev` is given, otherwise the folder as it is on disk. */
export async function openSource(repo: string, rev?: string): Promise<FleetSource> {
  const root = resolve(repo);
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new GitError(`fleet repo ${repo} does not exist or is not a folder`);
  }
  if (rev === undefined) return WorkTreeSource.open(root);
  return GitRevisionSource.open(root, rev);
}

class WorkTreeSource implements FleetSource {
  private constructor(
    readonly root: string,
    private readonly list: string[],
    private readonly hashes: Map<string, string>,
  ) {}

  static async open(root: string): Promise<WorkTreeSource> {
    const list: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(join(root, dir), { withFileTypes: true });
      for (const e of entries) {
        if (SKIP.has(e.name)) continue;
        const rel = dir ? `${dir}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(rel);
        else if (e.isFile()) list.push(rel);
      }
    };
    await walk('');
    list.sort();
    const hashes = new Map<string, string>();
    await Promise.all(list.map(async (p) => hashes.set(p, createHash('sha256').update(await readFile(join(root, p))).digest('hex'))));
    return new WorkTreeSource(root, list, hashes);
  }

  files(): string[] {
    return this.list;
  }

  contentId(path: string): string | undefined {
    return this.hashes.get(path);
  }

  async read(paths: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(paths.map(async (p) => out.set(p, await readFile(join(this.root, p), 'utf8'))));
    return out;
  }

  folderHash(dir: string): string {
    const h = createHash('sha256');
    const prefix = dir === '' || dir === '.' ? '' : dir.replace(/\/$/, '') + '/';
    for (const p of this.list) if (p.startsWith(prefix)) h.update(p).update('\0').update(this.hashes.get(p)!).update('\0');
    return h.digest('hex');
  }

  private readonly checked = new Map<string, Promise<string>>();

  materialize(dir: string): Promise<string> {
    // Checked once per folder and load (every instance of a chart asks): a load is one snapshot.
    return once(this.checked, dir, async () => {
      await checkLinksInside(this.root, dir);
      return join(this.root, dir);
    });
  }

  async materializedRoot(): Promise<string> {
    return this.root;
  }
}

class GitRevisionSource implements FleetSource {
  private constructor(
    readonly root: string,
    readonly revision: string,
    private readonly tree: Map<string, TreeEntry>,
    private readonly list: string[],
    private readonly rootTree: string,
  ) {}

  static async open(root: string, rev: string): Promise<GitRevisionSource> {
    const { commit, tree: rootTree } = await resolveCommitAndTree(root, rev);
    const tree = await listTree(root, commit);
    // Symbolic links are not fleet files (as on disk): only renderers follow them, inside the repository.
    const list = [...tree].filter(([, e]) => e.type === 'blob' && !e.link).map(([p]) => p).sort();
    return new GitRevisionSource(root, commit, tree, list, rootTree);
  }

  files(): string[] {
    return this.list;
  }

  contentId(path: string): string | undefined {
    return this.tree.get(path)?.sha;
  }

  async read(paths: string[]): Promise<Map<string, string>> {
    const shas = paths.map((p) => {
      const e = this.tree.get(p);
      if (!e || e.type !== 'blob' || e.link) throw new GitError(`${p} does not exist at revision ${this.revision.slice(0, 12)}`);
      return e.sha;
    });
    const blobs = await readBlobs(this.root, shas);
    const out = new Map<string, string>();
    paths.forEach((p, i) => out.set(p, blobs.get(shas[i]!)!.toString('utf8')));
    return out;
  }

  folderHash(dir: string): string {
    const clean = posix.normalize(dir).replace(/\/$/, '');
    if (clean === '' || clean === '.') return this.rootTree;
    const e = this.tree.get(clean);
    return e ? e.sha : 'missing:' + clean;
  }

  private readonly checked = new Map<string, Promise<void>>();

  async materialize(dir: string): Promise<string> {
    // Extracted again if it was pruned meanwhile; a revision's links are checked once per folder.
    const base = await this.materializedRoot();
    await once(this.checked, dir, () => checkLinksInside(base, dir));
    return join(base, dir);
  }

  materializedRoot(): Promise<string> {
    // Content-addressed by the repository's root tree: every revision with the same content shares one extraction.
    return extractTree(this.root, this.revision, this.rootTree);
  }
}
