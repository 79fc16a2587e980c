// CLI start-up benchmark (`npm run bench -- cli`): the packed CLI installed into an empty folder, run
// as a fresh process — `ringmaster --version` and `ringmaster plan` over a one-instance change of
// examples/fleet — beside `node -e 0` in the same rounds, and the same two commands from the sources
// (bin/ringmaster.js through tsx) for comparison. Rounds interleave the commands, so a busy machine
// slows them alike; figures are medians of wall time per spawn.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
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
}

function time(c: Case, cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { cwd, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== c.exit) throw new Error(`${c.label} exited ${r.status}, expected ${c.exit}: ${r.stderr}`);
  return ms;
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
    return `| ${c.label} | ${c.times.length} | ${m.toFixed(0)} ms | ${Math.min(...c.times).toFixed(0)} ms | ${c === cases[0] ? '' : `+${(m - base).toFixed(0)} ms`} | ${goal} |`;
  });
  return ['| command (fresh process) | runs | median | fastest | over `node -e 0` | goal |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Runs the benchmark and returns its Markdown section. */
export async function benchCli(): Promise<string> {
  process.stderr.write('cli: packing and installing the CLI into an empty folder\n');
  const cli = installPackedCli();
  const fleet = fleetWithOneInstanceChange();
  const node = process.execPath;
  const cases: Case[] = [
    { label: '`node -e 0`', cmd: node, args: ['-e', '0'], exit: 0, rounds: ROUNDS, times: [] },
    { label: '`ringmaster --version` (packed)', goal: 80, cmd: cli.bin, args: ['--version'], exit: 0, rounds: ROUNDS, times: [] },
    { label: '`ringmaster plan` one-instance change (packed)', goal: 150, cmd: cli.bin, args: planArgs(fleet), exit: 2, rounds: ROUNDS, times: [] },
    { label: '`ringmaster --version` (sources, tsx)', cmd: node, args: [SOURCE_BIN, '--version'], exit: 0, rounds: SOURCE_ROUNDS, times: [] },
    { label: '`ringmaster plan` one-instance change (sources, tsx)', cmd: node, args: [SOURCE_BIN, ...planArgs(fleet)], exit: 2, rounds: SOURCE_ROUNDS, times: [] },
  ];
  try {
    for (const c of cases) time(c, cli.dir); // warm the file cache
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) if (round < c.rounds) c.times.push(time(c, cli.dir));
    }
  } finally {
    rmSync(fleet.dir, { recursive: true, force: true });
    rmSync(cli.dir, { recursive: true, force: true });
  }
  return `${table(cases)}\n\nCommand: \`npm run bench -- cli\` (CLI_BENCH_ROUNDS=${ROUNDS}); \`plan\` is \`ringmaster plan --repo … --from … --to … --output json\` over examples/fleet with appserver-acme's backend replicas changed.`;
}
