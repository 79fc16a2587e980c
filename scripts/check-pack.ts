// CI (.ci/run): packs the CLI, installs it into an empty folder and runs it there: `--version`,
// `--help` (which loads every command group, so every bundled chunk and installed dependency is
// imported), `plan` over a one-instance change and `dev kube up`'s refusal. Any difference fails with what was expected.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SpawnSyncReturns } from 'node:child_process';
import { fleetWithOneInstanceChange, installPackedCli, planArgs, runPacked } from './cli-pack.ts';

const failures: string[] = [];
function expectThat(ok: boolean, what: string, r?: SpawnSyncReturns<string>): void {
  if (ok) process.stderr.write(`ok: ${what}\n`);
  else failures.push(r ? `${what}\n  exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n  stdout: ${r.stdout?.slice(0, 2000)}\n  stderr: ${r.stderr?.slice(0, 2000)}` : what);
}

const cli = installPackedCli();
const fleet = fleetWithOneInstanceChange();
try {
  const version = runPacked(cli, ['--version']);
  expectThat(version.status === 0 && version.stdout.trim() === cli.version, `ringmaster --version prints ${cli.version}`, version);

  const help = runPacked(cli, ['--help']);
  expectThat(help.status === 0 && /\bserve\b/.test(help.stdout) && /\brelease\b/.test(help.stdout), 'ringmaster --help lists every command', help);

  const plan = runPacked(cli, planArgs(fleet));
  const instances = plan.status === 2 ? (JSON.parse(plan.stdout) as { instances: { instance: string }[] }).instances.map((i) => i.instance) : [];
  expectThat(instances.join() === 'appserver-acme', 'ringmaster plan exits 2 and plans appserver-acme alone', plan);

  const none = runPacked(cli, ['plan', '--repo', fleet.dir, '--from', fleet.base, '--to', fleet.base]);
  expectThat(none.status === 0, 'ringmaster plan exits 0 when nothing changes', none);

  const dev = runPacked(cli, ['dev', 'kube', 'up']);
  expectThat(dev.status === 1 && dev.stderr.includes('runs from a checkout'), 'ringmaster dev kube up says it needs a checkout', dev);

  const web = join(cli.dir, 'node_modules', '@ringmaster', 'cli', 'dist', 'web', 'index.html');
  expectThat(existsSync(web), `the package carries the dashboard (${web})`);
} finally {
  rmSync(fleet.dir, { recursive: true, force: true });
  rmSync(cli.dir, { recursive: true, force: true });
}
if (failures.length > 0) {
  process.stderr.write(`check-pack FAILED:\n${failures.join('\n')}\n`);
  process.exit(1);
}
process.stderr.write('check-pack: the packed CLI installs and runs\n');
