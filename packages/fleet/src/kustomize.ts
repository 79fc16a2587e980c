import { readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { FleetValidationError, type FleetIssue } from './errors.ts';
import { runTool, type ToolResult } from './tools.ts';
import { locate, parseYamlFile } from './yaml-source.ts';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Fields whose entries kustomize loads as files, folders or remote bases. */
const LOADED = ['resources', 'bases', 'components'] as const;
/** What kustomize would try to fetch: a URL or a host/path form such as github.com/org/repo//dir. */
const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|[a-z0-9-]+(?:\.[a-z0-9-]+)+\/)/i;

const isFile = (p: string) => stat(p).then((s) => (s.isDirectory() ? 'dir' : 'file'), () => undefined);

/**
 * Checks a Kustomize folder before `kubectl kustomize` runs on it: every resource, base and component
 * of every kustomization it reaches must be inside the fleet repository (`root`, on disk); a remote
 * base is refused unless the app opts in with `source.allowRemoteBases`. Kustomize's own load
 * restrictor confines files (patches, generators) to each kustomization's folder, but not folders
 * named in `resources`, which is why this walks them.
 */
export async function checkKustomization(root: string, dir: string, allowRemote: boolean): Promise<void> {
  const realRoot = await realpath(root);
  const issues: FleetIssue[] = [];
  const seen = new Set<string>();
  const visit = async (abs: string): Promise<void> => {
    if (seen.has(abs)) return;
    seen.add(abs);
    let kfile: string | undefined;
    for (const name of KUSTOMIZATION_FILES) if ((await isFile(join(abs, name))) === 'file') kfile ??= join(abs, name);
    if (!kfile) return;
    const rel = relative(root, kfile).split(sep).join('/');
    const { docs, issues: syntax } = parseYamlFile(rel, await readFile(kfile, 'utf8'));
    issues.push(...syntax);
    const pd = docs[0];
    const k = pd?.data;
    if (!pd || k === null || typeof k !== 'object' || Array.isArray(k)) return;
    for (const field of LOADED) {
      const entries = (k as Record<string, unknown>)[field];
      if (!Array.isArray(entries)) continue;
      for (const [i, entry] of entries.entries()) {
        if (typeof entry !== 'string') continue;
        const at = locate(pd, [field, i]);
        const target = resolve(abs, entry);
        const kind = await isFile(target);
        const real = kind ? await realpath(target) : target;
        if (kind && (real === realRoot || real.startsWith(realRoot + sep))) {
          if (kind === 'dir') await visit(real);
          continue;
        }
        if (REMOTE.test(entry) && !kind) {
          if (allowRemote) continue;
          issues.push({ code: 'kustomize-remote', message: `${field} entry "${entry}" is a remote base, which Ringmaster does not fetch unless the app allows it`, hint: 'vendor the base into the fleet repository, or set source.allowRemoteBases: true in app.yaml', location: at });
        } else if (kind) {
          issues.push({ code: 'path-escapes', message: `${field} entry "${entry}" points outside the fleet repository`, hint: 'keep every resource, base and component inside the repository', location: at });
        } else {
          issues.push({ code: 'missing-file', message: `${field} entry "${entry}" does not exist in the fleet repository`, hint: 'fix the path (relative to the kustomization file)', location: at });
        }
      }
    }
  };
  await visit(await realpath(join(root, dir)));
  if (issues.length) throw new FleetValidationError(issues);
}

/** Runs `kubectl kustomize` with the load restrictor on: no file outside each kustomization's folder. */
export function runKustomize(dir: string): Promise<ToolResult> {
  return runTool('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsRootOnly', dir], { envVar: 'RINGMASTER_KUBECTL', what: 'kubectl (for Kustomize sources)' });
}
