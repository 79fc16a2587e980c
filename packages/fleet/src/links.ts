import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { FleetValidationError } from './errors.ts';

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + sep);
}

function escapes(file: string, target: string): FleetValidationError {
  return new FleetValidationError([
    {
      code: 'symlink-escapes',
      message: `${file} is a symbolic link to ${target}, outside the fleet repository`,
      hint: 'copy the file into the repository instead of linking to it; links may only point inside the repository',
      location: { file, line: 1, column: 1 },
    },
  ]);
}

/**
 * Refuses any symbolic link reachable from `dir` (relative to `root`, both on disk) that resolves
 * outside `root` — the folder itself, a linked chart file read by `.Files.Get`, a linked template or
 * `templates/` folder — so helm and kustomize never read a file from outside the fleet repository.
 * Links inside the repository are followed (and checked in turn). Names the file relative to `root`.
 */
export async function checkLinksInside(root: string, dir: string): Promise<void> {
  const realRoot = await realpath(root);
  const seen = new Set<string>();
  const check = async (abs: string): Promise<boolean> => {
    const rel = relative(root, abs).split(sep).join('/');
    let real: string;
    try {
      real = await realpath(abs);
    } catch {
      // A dangling link reads nothing today; refuse it when it names a place outside.
      const target = await readlink(abs);
      if (!inside(realRoot, resolve(dirname(abs), target))) throw escapes(rel, target);
      return false;
    }
    if (!inside(realRoot, real)) throw escapes(rel, (await lstat(abs)).isSymbolicLink() ? await readlink(abs) : real);
    return (await stat(abs)).isDirectory();
  };
  const walk = async (abs: string): Promise<void> => {
    const real = await realpath(abs);
    if (seen.has(real)) return;
    seen.add(real);
    for (const e of await readdir(abs, { withFileTypes: true })) {
      const p = join(abs, e.name);
      if (e.isSymbolicLink()) {
        if (await check(p)) await walk(p);
      } else if (e.isDirectory()) await walk(p);
    }
  };
  // The folder itself, or one of its parents, may be the link.
  const start = join(root, dir);
  let cur = root;
  for (const seg of relative(root, start).split(sep).filter(Boolean)) {
    cur = join(cur, seg);
    if (!(await check(cur))) return;
  }
  await walk(start);
}
