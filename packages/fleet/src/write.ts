import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { RingmasterError } from './errors.ts';
import type { RenderedInstance } from './render.ts';

/** The file that marks a folder as Ringmaster's output, which a later render may replace. */
export const OUTPUT_MARKER = '.ringmaster-output';
const MARKER_TEXT = 'Written by `ringmaster render`. The next render replaces this folder as a whole; do not keep other files here.\n';

/** Why `out` may not be replaced, or undefined when it does not exist, is empty or holds Ringmaster's output. */
async function refusal(target: string): Promise<string | undefined> {
  let st;
  try {
    st = await lstat(target);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is a file, not a folder';
  const entries = await readdir(target);
  if (entries.length === 0 || entries.includes(OUTPUT_MARKER)) return undefined;
  return `is not empty and was not written by ringmaster render (it has no ${OUTPUT_MARKER} file; it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''})`;
}

/**
 * Writes rendered instances to `out` as <cluster>/<instance>/<object>.yaml — all or nothing:
 * everything goes to a sibling temporary folder first, which then replaces `out` in one rename.
 * Only a folder that is empty or was written by Ringmaster (it holds OUTPUT_MARKER) is replaced:
 * pointed at a clone or any other folder, nothing is deleted.
 */
export async function writeRendered(out: string, instances: RenderedInstance[]): Promise<{ files: number }> {
  const target = resolve(out);
  const why = await refusal(target);
  if (why) throw new RingmasterError('RINGMASTER_OUTPUT_REFUSED', `will not write to ${out}: it ${why}. Choose an empty or new folder, or --out - to print the objects`);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  let files = 0;
  try {
    await mkdir(tmp);
    await writeFile(join(tmp, OUTPUT_MARKER), MARKER_TEXT);
    for (const inst of instances) {
      const dir = join(tmp, inst.cluster, inst.instance);
      await mkdir(dir, { recursive: true });
      await Promise.all(inst.objects.map((o) => writeFile(join(dir, o.file), o.yaml)));
      files += inst.objects.length;
    }
    let old: string | undefined = `${target}.old-${process.pid}-${Date.now()}`;
    try {
      await rename(target, old);
    } catch {
      old = undefined; // there was no previous output
    }
    await rename(tmp, target);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { files };
}

/** Every rendered object as one YAML stream (`render --out -`), each headed by the file it would be written to. */
export function renderedStream(instances: RenderedInstance[]): string {
  const parts: string[] = [];
  for (const inst of instances) for (const o of inst.objects) parts.push(`---\n# ${inst.cluster}/${inst.instance}/${o.file}\n${o.yaml}`);
  return parts.join('');
}
