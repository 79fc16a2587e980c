// `npm run bench`: every benchmark, printed as Markdown for docs/benchmarks.md.
// Pass names to run a subset: `npm run bench -- fleet`.
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { benchFleet, fleetBenchMarkdown } from './fleet.ts';
import { benchFlighting } from './flighting.ts';
import { benchHelm, helmBenchMarkdown } from './helm.ts';
import { benchLocalFleet } from './local-fleet.ts';
import { benchDrift } from './drift.ts';
import { benchServer } from './server.ts';
import { benchOperator } from './operator.ts';
import { benchCli } from './cli.ts';

const wanted = new Set(process.argv.slice(2));
const run = (name: string) => wanted.size === 0 || wanted.has(name);

function machine(): string {
  const kubectl = (() => {
    try {
      return execFileSync('kubectl', ['version', '--client', '-o', 'json']).toString().match(/"gitVersion":\s*"([^"]+)"/)?.[1] ?? '?';
    } catch {
      return 'not found';
    }
  })();
  return `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB memory, Node.js ${process.version}, kubectl ${kubectl}; ${new Date().toISOString().slice(0, 10)}.`;
}

const sections: string[] = [machine(), ''];
if (run('fleet')) sections.push('## Fleet: render and plan', '', fleetBenchMarkdown(await benchFleet()), '');
if (run('helm')) sections.push('## Helm fleets: the long-lived renderer', '', helmBenchMarkdown(await benchHelm()), '');
if (run('server')) sections.push('## Control plane: ingest and queries', '', await benchServer(), '');
if (run('flighting')) sections.push('## Flighting', '', await benchFlighting(), '');
if (run('drift')) sections.push('## Drift detection', '', await benchDrift(), '');
if (run('local-fleet')) sections.push('## Local fleet: real controllers, kwok and Argo CD', '', await benchLocalFleet(), '');
if (run('cli')) sections.push('## CLI: start-up of the packed command', '', await benchCli(), '');
if (run('operator')) sections.push('## Operator: AppClusters on one cluster', '', await benchOperator(), '');
process.stdout.write(sections.join('\n') + '\n');
