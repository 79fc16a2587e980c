import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { RenderedInstance } from './render.ts';

/**
 * Writes rendered instances to `out` as <cluster>/<instance>/<object>.yaml — all or nothing:
 * everything goes to a sibling temporary folder first, which then replaces `out` in one rename.
 */
export async function writeRendered(out: string, instances: RenderedInstance[]): Promise<{ files: number }> {
  const target = resolve(out);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  let files = 0;
  try {
    for (const inst of instances) {
      const dir = join(tmp, inst.cluster, inst.instance);
      await mkdir(dir, { recursive: true });
      await Promise.all(inst.objects.map((o) => writeFile(join(dir, o.file), o.yaml)));
      files += inst.objects.length;
    }
    let old: string | undefined;
    try {
      await stat(target);
      old = `${target}.old-${process.pid}-${Date.now()}`;
      await rename(target, old);
    } catch {
      old = undefined;
    }
    await rename(tmp, target);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { files };
}
