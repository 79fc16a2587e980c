// The packed CLI as a user gets it: `npm pack` of packages/cli (its prepack compiles dist/, see
// scripts/build-cli.ts) installed into an empty folder, and a fleet repo with a one-instance change
// to plan. Shared by scripts/check-pack.ts (CI) and bench/cli.ts.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** The CLI installed from its tarball into a folder of its own. */
export interface PackedCli {
  /** The folder it is installed in. */
  dir: string;
  /** Its `ringmaster` command (node_modules/.bin/ringmaster). */
  bin: string;
  /** The version in packages/cli/package.json, which `--version` must print. */
  version: string;
}

/** Runs a command with its output on stderr, so a benchmark's Markdown on stdout stays clean. */
function quietly(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 2, 2] });
}

/**
 * Packs the CLI and installs the tarball into a new empty folder (npm's cache first, the registry
 * for what it lacks). Install scripts are skipped: `--version`, `--help` and `plan` use no native
 * part, and building better-sqlite3 from source where no prebuilt binary can be fetched takes minutes.
 */
export function installPackedCli(): PackedCli {
  const packs = mkdtempSync(join(tmpdir(), 'ringmaster-pack-'));
  quietly('npm', ['pack', '-w', '@ringmaster/cli', '--pack-destination', packs], ROOT);
  const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack left ${tarballs.length} tarballs in ${packs}, expected one`);
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-installed-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ringmaster-pack-check', private: true }) + '\n');
  quietly('npm', ['install', join(packs, tarballs[0]!), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
  rmSync(packs, { recursive: true, force: true });
  const version = (JSON.parse(readFileSync(join(ROOT, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string }).version;
  return { dir, bin: join(dir, 'node_modules', '.bin', 'ringmaster'), version };
}

/** A Git repository holding examples/fleet, then a commit that changes one instance (appserver-acme's backend replicas). */
export interface ChangedFleet {
  dir: string;
  base: string;
  changed: string;
}

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'check', GIT_AUTHOR_EMAIL: 'check@example.net', GIT_COMMITTER_NAME: 'check', GIT_COMMITTER_EMAIL: 'check@example.net' };

/** Copies examples/fleet into a temporary repository and commits a one-instance change on top. */
export function fleetWithOneInstanceChange(): ChangedFleet {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-fleet-'));
  cpSync(join(ROOT, 'examples', 'fleet'), dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: GIT_ENV }).toString().trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'commit.gpgsign=false', 'commit', '-qm', 'fleet');
  const base = git('rev-parse', 'HEAD');
  const file = join(dir, 'instances', 'appserver.yaml');
  const text = readFileSync(file, 'utf8');
  const edited = text.replace('name: appserver-acme\napp: appserver\ncluster: dev-eu-1\nvalues:\n  backend:\n    replicas: 1', (m) => m.replace(/1$/, '2'));
  if (edited === text) throw new Error(`examples/fleet/instances/appserver.yaml no longer sets appserver-acme's backend replicas to 1`);
  writeFileSync(file, edited);
  git('-c', 'commit.gpgsign=false', 'commit', '-qam', 'appserver-acme: 2 backend replicas');
  return { dir, base, changed: git('rev-parse', 'HEAD') };
}

/** The arguments of `ringmaster plan` over that change. */
export function planArgs(fleet: ChangedFleet, output = 'json'): string[] {
  return ['plan', '--repo', fleet.dir, '--from', fleet.base, '--to', fleet.changed, '--output', output];
}

/** Runs the installed CLI from its own folder. */
export function runPacked(cli: PackedCli, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cli.bin, args, { cwd: cli.dir, encoding: 'utf8' });
}
