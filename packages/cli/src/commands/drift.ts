import type { Command } from 'commander';
import type { DriftInstance, DriftRecord, RouteOutput } from '@ringmaster/api';

type AdoptResult = RouteOutput<'adoptDrift'>;
import { api, clientOptions, connection, outputFormat } from '../client.ts';
import { table, writeMachine, type OutputFormat } from '../output.ts';

const FORMATS: OutputFormat[] = ['table', 'json', 'yaml'];

const value = (v: unknown): string => {
  if (v === undefined || v === null) return '-';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
};
const objectName = (r: DriftRecord) => `${r.object.kind}/${r.object.namespace ? r.object.namespace + '/' : ''}${r.object.name}`;

/** The drift list as a table: one row per drifted field, with who changed it. */
export function driftTable(instances: DriftInstance[]): string {
  return table(['INSTANCE', 'CLUSTER', 'OBJECT', 'FIELD', 'DESIRED', 'LIVE', 'MANAGER', 'USER', 'CHANGED'],
    instances.flatMap((i) => i.fields.map((f) => [
      i.instance, i.cluster, objectName(f), f.state === 'missing' ? '(missing)' : f.path || '(out of sync)', value(f.desired), value(f.live),
      f.manager ?? '-', f.user ?? '-', f.userAt ?? f.changedAt ?? '-',
    ])));
}

/** The plan of an adopt, for people: where each field is written, then the plan of the commit. */
export function formatAdopt(r: AdoptResult): string {
  const lines = [
    `${r.branch ? 'Adopted' : 'Would adopt'} the live change of ${r.instance} on ${r.cluster}: commit ${r.commit.slice(0, 12)}${r.branch ? ` on branch ${r.branch}` : ' (dry run: no branch)'}, based on ${r.base.slice(0, 12)}, in ${r.file}`,
    ...r.changes.map((c) => `  ${c.object} ${c.path}: ${value(c.desired)} → ${value(c.live)}  (${c.layer === 'value' ? `instance value ${c.value!.path}` : 'instance patch'})`),
    ...r.skipped.map((s) => `  not adopted: ${s.object} ${s.path || ''} — ${s.reason}`),
    '',
    r.planText.trimEnd(),
  ];
  if (r.branch) lines.push('', `Review and merge ${r.branch}, then release it; until then drift stays reported.`);
  return lines.join('\n');
}

/** `drift list|adopt|heal`: what runs differently from Git, and turning a hot-fix into a fleet commit. */
export function registerDriftCommands(program: Command): void {
  const drift = program.command('drift').description('live state that differs from the fleet repo: list it, heal it, or adopt it into Git (talks to `ringmaster serve`)');

  clientOptions(drift.command('list')
    .description('list drifted objects and fields, with manager and user')
    .option('--app <app>', 'only this app')
    .option('--cluster <cluster>', 'only this cluster')
    .option('--instance <instance>', 'only this instance'))
    .action(async (opts: { app?: string; cluster?: string; instance?: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const res = await api(connection(cmd), 'listDrift', { query: opts });
      if (!writeMachine(format, res)) process.stdout.write(res.instances.length ? driftTable(res.instances) + '\n' : 'no drift\n');
    });

  clientOptions(drift.command('adopt')
    .description('write the live change of an instance back to the fleet repo (an instance value where the field comes from a value, an instance patch otherwise) as a commit on a new branch, and print its plan')
    .argument('<instance>', 'instance name')
    .option('--cluster <cluster>', 'the cluster, when the instance name is not enough')
    .option('--base <revision>', 'fleet revision to build on (default: the fleet repo\'s HEAD)')
    .option('--reason <text>', 'why the hot-fix is kept (goes into the commit message)')
    .option('--dry-run', 'show the commit and its plan, create no branch'))
    .action(async (instance: string, opts: { cluster?: string; base?: string; reason?: string; dryRun?: boolean }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const body = { ...(opts.cluster ? { cluster: opts.cluster } : {}), ...(opts.base ? { base: opts.base } : {}), ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.dryRun ? { dryRun: true } : {}) };
      const r = await api(connection(cmd), 'adoptDrift', { params: { instance }, body });
      if (!writeMachine(format, r)) process.stdout.write(formatAdopt(r) + '\n');
    });

  clientOptions(drift.command('heal')
    .description('restore the desired state of an instance: re-apply (direct mode) or ask Argo CD to sync')
    .argument('<instance>', 'instance name')
    .option('--cluster <cluster>', 'the cluster, when the instance name is not enough')
    .option('--reason <text>', 'why (kept in the audit trail)'))
    .action(async (instance: string, opts: { cluster?: string; reason?: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const r = await api(connection(cmd), 'healDrift', { params: { instance }, body: { ...(opts.cluster ? { cluster: opts.cluster } : {}), ...(opts.reason ? { reason: opts.reason } : {}) } });
      if (!writeMachine(format, r)) process.stdout.write(`healed ${r.healed.length} drifted field(s) of ${r.instance} on ${r.cluster} (${r.mode === 'direct' ? 're-applied' : 'Argo CD sync requested'})\n`);
    });
}
