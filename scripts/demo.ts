// `npm run demo`: the main job on a fresh machine. Builds what is missing (scripts/setup.sh), then
// walks through the fleet commands a user would run on the example fleet: validate, render, plan.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'packages', 'cli', 'bin', 'ringmaster.js');
const env = { ...process.env, GIT_AUTHOR_NAME: 'Demo User', GIT_AUTHOR_EMAIL: 'demo@example.net', GIT_COMMITTER_NAME: 'Demo User', GIT_COMMITTER_EMAIL: 'demo@example.net' };

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m▶ ${title}\x1b[0m\n`);
}
function ringmaster(args: string[], okCodes = [0]): number {
  process.stdout.write(`$ ringmaster ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', env });
  if (!okCodes.includes(r.status ?? 1)) {
    process.stderr.write(`demo: "ringmaster ${args[0]}" exited with ${r.status}\n`);
    process.exit(1);
  }
  return r.status ?? 0;
}
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env }).toString().trim();

step('Set-up: tools the renderers need (helm is built from its Go module the first time)');
const setup = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { stdio: 'inherit', env: { ...env, RINGMASTER_SETUP_ONLY: process.env.RINGMASTER_SETUP_ONLY ?? 'helm' } });
if (setup.status !== 0) process.exit(1);

const work = mkdtempSync(join(tmpdir(), 'ringmaster-demo-'));
const fleet = join(work, 'fleet');
step(`A fleet repo: examples/fleet copied to ${fleet} and committed`);
cpSync(join(root, 'examples', 'fleet'), fleet, { recursive: true });
git(fleet, 'init', '-q', '-b', 'main');
git(fleet, 'add', '-A');
git(fleet, 'commit', '-q', '-m', 'Example fleet');
const base = git(fleet, 'rev-parse', 'HEAD');

step('Validate the fleet');
ringmaster(['validate', '--repo', fleet]);

step('Render every instance into one folder per cluster and instance');
ringmaster(['render', '--repo', fleet, '--rev', base, '--out', join(work, 'rendered')]);

step('A change: appserver 7.5.0, and tenant "hooli" gets 5 frontends');
git(fleet, 'checkout', '-q', '-b', 'release-7.5');
execFileSync('sed', ['-i', 's/tag: "7.4.1"/tag: "7.5.0"/', join(fleet, 'apps/appserver/app.yaml')]);
execFileSync('sed', ['-i', 's/^cluster: prod-eu-2$/cluster: prod-eu-2\\nvalues:\\n  frontend:\\n    replicas: 5/', join(fleet, 'instances/appserver.yaml')]);
git(fleet, 'commit', '-q', '-am', 'appserver 7.5.0; hooli: 5 frontends');

step('Plan: the blast radius of the change, before it merges (exit code 2 = changes)');
ringmaster(['plan', '--repo', fleet, '--from', 'main', '--to', 'release-7.5', '--no-diff'], [2]);

step('The same plan as a pull-request comment (first lines)');
const md = spawnSync(process.execPath, [bin, 'plan', '--repo', fleet, '--from', 'main', '--to', 'release-7.5', '--output', 'markdown'], { encoding: 'utf8', env });
process.stdout.write(md.stdout.split('\n').slice(0, 14).join('\n') + '\n…\n');

process.stdout.write(`\nDone. The fleet repo and rendered output are in ${work}\n`);
