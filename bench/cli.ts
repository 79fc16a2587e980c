// CLI start-up benchmark (`npm run bench -- cli`): the packed CLI installed into an empty folder, run
// as a fresh process — `ringmaster --version` and `ringmaster plan` over a one-instance change of
// examples/fleet — beside `node -e 0` in the same rounds, and the same two commands from the sources
// (bin/ringmaster.js through tsx) for comparison. Rounds interleave the commands, so a busy machine
// slows them alike; figures are medians of wall time per spawn, and of the child's CPU time (user +
// system, from /proc/self/stat on Linux), which other load inflates far less than wall time.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fleetWithOneInstanceChange, installPackedCli, planArgs } from '../scripts/cli-pack.ts';

const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 20);
const SOURCE_ROUNDS = Math.max(3, Math.round(ROUNDS / 4));
const SOURCE_BIN = join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'ringmaster.js');

interface Case {
  label: string;
  goal?: number;
  cmd: string;
  args: string[];
  /** The exit code that means it worked (plan exits 2 when it finds changes). */
  exit: number;
  rounds: number;
  times: number[];
  cpu: number[];
}

const TICK_MS = existsSync('/proc/self/stat') ? 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString()) : undefined;

/** CPU time of this process's waited-for children so far (cutime + cstime), in ms; undefined off Linux. */
function childrenCpu(): number | undefined {
  if (TICK_MS === undefined) return undefined;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

function time(c: Case, cwd: string): { wall: number; cpu?: number } {
  const cpu0 = childrenCpu();
  const start = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { cwd, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu1 = childrenCpu();
  if (r.status !== c.exit) throw new Error(`${c.label} exited ${r.status}, expected ${c.exit}: ${r.stderr}`);
  return { wall, cpu: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function table(cases: Case[]): string {
  const base = median(cases[0]!.times);
  const rows = cases.map((c) => {
    const m = median(c.times);
    const goal = c.goal === undefined ? '' : `≤ ${c.goal} ms: ${m <= c.goal ? 'met' : '**missed**'}`;
    const cpu = c.cpu.length > 0 ? `${median(c.cpu).toFixed(0)} ms` : '–';
    return `| ${c.label} | ${c.times.length} | ${m.toFixed(0)} ms | ${Math.min(...c.times).toFixed(0)} ms | ${c === cases[0] ? '' : `+${(m - base).toFixed(0)} ms`} | ${cpu} | ${goal} |`;
  });
  return ['| command (fresh process) | runs | median wall | fastest wall | over `node -e 0` | median CPU | goal (wall) |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Runs the benchmark and returns its Markdown section. */
export async function benchCli(): Promise<string> {
  process.stderr.write('cli: packing and installing the CLI into an empty folder\n');
  const cli = installPackedCli();
  const fleet = fleetWithOneInstanceChange();
  const node = process.execPath;
  const cases: Case[] = [
    { label: '`node -e 0`', cmd: node, args: ['-e', '0'], exit: 0, rounds: ROUNDS, times: [], cpu: [] },
    { label: '`ringmaster --version` (packed)', goal: 80, cmd: cli.bin, args: ['--version'], exit: 0, rounds: ROUNDS, times: [], cpu: [] },
    { label: '`ringmaster plan` one-instance change (packed)', goal: 150, cmd: cli.bin, args: planArgs(fleet), exit: 2, rounds: ROUNDS, times: [], cpu: [] },
    { label: '`ringmaster --version` (sources, tsx)', cmd: node, args: [SOURCE_BIN, '--version'], exit: 0, rounds: SOURCE_ROUNDS, times: [], cpu: [] },
    { label: '`ringmaster plan` one-instance change (sources, tsx)', cmd: node, args: [SOURCE_BIN, ...planArgs(fleet)], exit: 2, rounds: SOURCE_ROUNDS, times: [], cpu: [] },
  ];
  try {
    for (const c of cases) time(c, cli.dir); // warm the file cache
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases.filter((k) => round < k.rounds)) {
        const t = time(c, cli.dir);
        c.times.push(t.wall);
        if (t.cpu !== undefined) c.cpu.push(t.cpu);
      }
    }
  } finally {
    rmSync(fleet.dir, { recursive: true, force: true });
    rmSync(cli.dir, { recursive: true, force: true });
  }
  return `${table(cases)}\n\nCommand: \`npm run bench -- cli\` (CLI_BENCH_ROUNDS=${ROUNDS}); \`plan\` is \`ringmaster plan --repo … --from … --to … --output json\` over examples/fleet with appserver-acme's backend replicas changed.`;
}
