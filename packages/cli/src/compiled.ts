import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether this is the compiled CLI (scripts/build-cli.ts bundles the sources into dist/*.js) rather than the sources. */
export const RUNS_COMPILED = import.meta.url.endsWith('.js');

/**
 * The dashboard bundle carried by the compiled CLI: scripts/build-cli.ts copies it to dist/web,
 * beside the chunks (esbuild writes every chunk straight into dist/, so this module's URL is there).
 * Run from the sources there is none, and the server finds packages/web/build by itself.
 */
export function bundledWebRoot(): string | undefined {
  if (!RUNS_COMPILED) return undefined;
  const dir = fileURLToPath(new URL('./web/', import.meta.url));
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}
