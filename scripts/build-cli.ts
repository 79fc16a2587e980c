// Compiles the CLI into packages/cli/dist (what `npm pack -w @ringmaster/cli` ships; docs/development.md):
// the CLI and the private workspace packages it uses bundled by esbuild, one chunk per command group
// so `--version` and `plan` load only their own code; the npm packages in the CLI's `dependencies`
// (native parts, big trees) stay imports the packed package installs; the dashboard bundle is copied
// to dist/web for `ringmaster serve`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'packages', 'cli');
const DIST = join(CLI, 'dist');

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/**
 * The CLI's `dependencies`: exactly what stays outside the bundle. Each must ask for the range the
 * workspace package that imports it asks for, so the packed CLI installs what the sources are tested with.
 */
function externals(): string[] {
  const own = manifest(CLI).dependencies ?? {};
  const wanted = new Map<string, string[]>();
  for (const dir of readdirSync(join(ROOT, 'packages'))) {
    const m = manifest(join(ROOT, 'packages', dir));
    for (const [name, range] of Object.entries(m.dependencies ?? {})) {
      if (name in own && range !== own[name]) wanted.set(name, [...(wanted.get(name) ?? []), `${m.name} asks for ${range}`]);
    }
  }
  const clashes = [...wanted].map(([name, why]) => `${name}: packages/cli/package.json has ${own[name]}, but ${why.join(', ')}`);
  if (clashes.length > 0) throw new Error(`the CLI's dependencies differ from its workspace packages':\n  ${clashes.join('\n  ')}`);
  return Object.keys(own);
}

/** Bundles src/main.ts into dist/main.js and its lazily loaded chunks. */
async function bundle(): Promise<Metafile> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: join(CLI, 'src', 'main.ts') },
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.11',
    external: externals(),
    // bundled CommonJS modules (commander, js-yaml…) call require(), which an ES module must be given
    banner: { js: "import { createRequire as __ringmasterRequire } from 'node:module';\nconst require = __ringmasterRequire(import.meta.url);" },
    // a seventh less CPU for `plan` to parse, measured; names kept so errors and stack traces read as in the sources
    minify: true,
    keepNames: true,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** Copies the dashboard bundle (built first when missing or stale, by its setup step) to dist/web, without source maps. */
function copyDashboard(): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'setup.d', '45-web.sh')], { stdio: 'inherit' });
  const built = join(ROOT, 'packages', 'web', 'build');
  if (!existsSync(join(built, 'index.html'))) throw new Error(`no dashboard bundle at ${built}`);
  // the dashboard's source maps would double the package for a debugging aid; they stay in the checkout
  cpSync(built, join(DIST, 'web'), { recursive: true, filter: (src) => !src.endsWith('.map') });
}

rmSync(DIST, { recursive: true, force: true });
const meta = await bundle();
copyDashboard();
const bytes = Object.values(meta.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`built ${Object.keys(meta.outputs).length} files (${(bytes / 1024).toFixed(0)} KiB) and the dashboard into ${DIST}\n`);
