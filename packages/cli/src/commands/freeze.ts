import type { Command } from 'commander';
import type { FreezeStatus } from '@ringmaster/api';
import { api, clientOptions, connection, outputFormat } from '../client.ts';
import { UsageError } from '../errors.ts';
import { writeMachine, type OutputFormat } from '../output.ts';

const FORMATS: OutputFormat[] = ['table', 'json', 'yaml'];

/** The human view of the freeze: frozen or not, since when, by whom, why. */
export function formatFreeze(s: FreezeStatus): string {
  const f = s.freeze;
  if (!f) return 'not frozen (no freeze so far)';
  if (s.active) return `FROZEN since ${f.startedAt} by ${f.startedBy}: ${f.reason}\nevery release holds at its next ring, wave or cluster start; end it with \`ringmaster freeze end\``;
  return `not frozen (the last freeze, "${f.reason}" by ${f.startedBy}, ended ${f.endedAt} by ${f.endedBy}${f.endReason ? `: ${f.endReason}` : ''})`;
}

function show(format: OutputFormat, s: FreezeStatus): void {
  if (!writeMachine(format, s)) process.stdout.write(formatFreeze(s) + '\n');
}

/** `freeze start|end|status`: the organisation-wide freeze on the control plane (start and end need the approver role). */
export function registerFreezeCommands(program: Command): void {
  const freeze = program.command('freeze').description('hold every release at its next boundary, organisation-wide (talks to `ringmaster serve`)');
  clientOptions(freeze.command('start')
    .description('start a freeze: no ring, wave or cluster starts until it ends (in-flight steps finish); needs the approver role')
    .requiredOption('--reason <text>', 'why (required; shown on every held release and in the audit)'))
    .action(async (opts: { reason: string }, cmd: Command) => {
      if (!opts.reason.trim()) throw new UsageError('--reason must say why releases are frozen');
      show(outputFormat(cmd, FORMATS), await api(connection(cmd), 'startFreeze', { body: { reason: opts.reason } }));
    });
  clientOptions(freeze.command('end')
    .description('end the freeze: held releases resume at once; needs the approver role')
    .option('--reason <text>', 'a note kept with the freeze'))
    .action(async (opts: { reason?: string }, cmd: Command) => {
      show(outputFormat(cmd, FORMATS), await api(connection(cmd), 'endFreeze', { body: opts.reason ? { reason: opts.reason } : {} }));
    });
  clientOptions(freeze.command('status').description('whether releases are frozen, since when, by whom and why'))
    .action(async (_opts: unknown, cmd: Command) => {
      const s = await api(connection(cmd), 'getFreeze');
      show(outputFormat(cmd, FORMATS), s);
    });
}
