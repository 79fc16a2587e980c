import type { Command } from 'commander';
import {
  FleetValidationError,
  formatIssue,
  formatPlanMarkdown,
  formatPlanText,
  loadFleetFrom,
  openSource,
  planHasChanges,
  planRevisions,
  renderFleet,
  renderedStream,
  validateFleet,
  writeRendered,
  type FleetIssue,
  type RenderedInstance,
} from '@ringmaster/fleet';
import { colorEnabled } from '../color.ts';
import { parseOutput, table, writeMachine } from '../output.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Every instance's warnings, once each (an app's shared manifest warns for each of its instances). */
function warningsOf(rendered: readonly RenderedInstance[]): FleetIssue[] {
  const seen = new Map<string, FleetIssue>();
  for (const r of rendered) for (const w of r.warnings) seen.set(formatIssue(w), w);
  return [...seen.values()];
}

function printWarnings(warnings: readonly FleetIssue[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
}

/** `validate`, `render` and `plan`: the fleet-as-code commands. */
export function registerFleetCommands(program: Command): void {
  program
    .command('validate')
    .description('check a fleet repo: schema, references, Kubernetes object basics, secrets in clear text')
    .option('--repo <dir>', 'fleet repository folder (default: the Git repository of the current folder)')
    .option('--rev <rev>', 'Git revision to read (default: the files on disk)')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action(async (opts: { repo: string; rev?: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      try {
        const { fleet, rendered } = await validateFleet(opts.repo, opts.rev);
        const result = {
          valid: true,
          revision: fleet.source.revision ?? null,
          rings: fleet.rings.length,
          clusters: fleet.clusters.size,
          apps: fleet.apps.size,
          instances: fleet.instances.size,
          objects: rendered.reduce((n, r) => n + r.objects.length, 0),
          issues: [],
          warnings: warningsOf(rendered),
        };
        if (!writeMachine(format, result)) {
          printWarnings(result.warnings);
          process.stdout.write(
            `✓ fleet "${fleet.name}" is valid: ${result.rings} rings, ${result.clusters} clusters, ${result.apps} apps, ${result.instances} instances, ${result.objects} objects\n`,
          );
        }
      } catch (e) {
        if (!(e instanceof FleetValidationError)) throw e;
        if (!writeMachine(format, { valid: false, issues: e.issues })) {
          for (const issue of e.issues) process.stderr.write(formatIssue(issue) + '\n');
          process.stderr.write(`✗ ${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} found\n`);
        }
        process.exitCode = 1;
      }
    });

  program
    .command('render')
    .description('render instances into <out>/<cluster>/<instance>/<object>.yaml (written all or nothing)')
    .option('--repo <dir>', 'fleet repository folder (default: the Git repository of the current folder)')
    .option('--rev <rev>', 'Git revision to read (default: the files on disk)')
    .option('--instance <name>', 'render only this instance (repeatable)', collect)
    .requiredOption('--out <dir>', 'output folder (replaced as a whole; only an empty one or an earlier render output), or - to print every object to stdout')
    .option('-o, --output <format>', 'table | json | yaml', 'table')
    .action(async (opts: { repo: string; rev?: string; instance?: string[]; out: string; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const started = Date.now();
      const fleet = await loadFleetFrom(await openSource(opts.repo, opts.rev));
      const rendered = await renderFleet(fleet, opts.instance);
      printWarnings(warningsOf(rendered));
      if (opts.out === '-') return void process.stdout.write(renderedStream(rendered));
      const { files } = await writeRendered(opts.out, rendered);
      const summary = {
        out: opts.out,
        revision: fleet.source.revision ?? null,
        instances: rendered.map((r) => ({ instance: r.instance, cluster: r.cluster, objects: r.objects.length, inputHash: r.inputHash })),
        files,
        durationMs: Date.now() - started,
      };
      if (!writeMachine(format, summary)) {
        process.stdout.write(
          table(
            ['CLUSTER', 'INSTANCE', 'OBJECTS'],
            rendered.map((r) => [r.cluster, r.instance, String(r.objects.length)]),
          ) + `\n\nwrote ${files} files for ${rendered.length} instances to ${opts.out} in ${summary.durationMs} ms\n`,
        );
      }
    });

  program
    .command('plan')
    .description('show the blast radius of a change between two revisions (exit 0: no change, 2: changes, 1: error)')
    .option('--repo <dir>', 'fleet repository, a Git repository (default: the one of the current folder)')
    .requiredOption('--from <rev>', 'base revision, e.g. origin/main')
    .requiredOption('--to <rev>', 'revision to compare, e.g. HEAD')
    .option('--instance <name>', 'limit the plan to this instance (repeatable)', collect)
    .option('-o, --output <format>', 'table | json | yaml | markdown', 'table')
    .option('--no-diff', 'list objects without their diffs (table output)')
    .action(async (opts: { repo: string; from: string; to: string; instance?: string[]; output: string; diff: boolean }, cmd: Command) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml', 'markdown']);
      const plan = await planRevisions({ repo: opts.repo, from: opts.from, to: opts.to, instances: opts.instance });
      if (format === 'markdown') process.stdout.write(formatPlanMarkdown(plan));
      else if (!writeMachine(format, plan)) process.stdout.write(formatPlanText(plan, { color: colorEnabled(cmd), diffs: opts.diff }));
      process.exitCode = planHasChanges(plan) ? 2 : 0;
    });
}
