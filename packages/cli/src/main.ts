import { Command, CommanderError } from 'commander';
import { EXIT, exitCodeFor, formatError, isUsageError } from './errors.ts';
import { defaultRepoToCurrent } from './repo.ts';
import { applyUsageHints, usageHint } from './usage.ts';
import { CLIENT_VERSION } from './version.ts';

type Register = (program: Command) => void;

/**
 * Command groups, loaded only when their command runs: the control plane and the Kubernetes client
 * take a second to import, which `ringmaster plan` in a CI job should not pay.
 * To add a group: one entry here, naming the top-level commands it registers. `completion` loads
 * every group, since it describes the whole tree.
 */
const GROUPS: { commands: string[]; load: () => Promise<Register>; all?: true }[] = [
  { commands: ['validate', 'render', 'plan'], load: async () => (await import('./commands/fleet.ts')).registerFleetCommands },
  { commands: ['dev'], load: async () => (await import('./commands/dev.ts')).registerDevCommands },
  { commands: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServeCommands },
  { commands: ['token'], load: async () => (await import('./commands/token.ts')).registerTokenCommands },
  { commands: ['release'], load: async () => (await import('./commands/release.ts')).registerReleaseCommands },
  { commands: ['freeze'], load: async () => (await import('./commands/freeze.ts')).registerFreezeCommands },
  { commands: ['operator'], load: async () => (await import('./commands/operator.ts')).registerOperatorCommands },
  { commands: ['node', 'op'], load: async () => (await import('./commands/nodes.ts')).registerNodeCommands },
  { commands: ['drift'], load: async () => (await import('./commands/drift.ts')).registerDriftCommands },
  { commands: ['request'], load: async () => (await import('./commands/request.ts')).registerRequestCommands },
  { commands: ['config'], load: async () => (await import('./commands/config.ts')).registerConfigCommands },
  { commands: ['version'], load: async () => (await import('./commands/version.ts')).registerVersionCommand },
  { commands: ['completion'], load: async () => (await import('./commands/completion.ts')).registerCompletionCommand, all: true },
];

/** Options of the root that every command accepts, anywhere on the line. */
const GLOBAL_VALUE_OPTIONS = new Set(['--context']);

/** The top-level command of an argument list, skipping the global options before it. */
export function commandOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** `ringmaster --version` (or `-V`) with no command: answered by the root alone, loading no group. */
function asksOnlyVersion(args: string[]): boolean {
  return commandOf(args) === undefined && args.some((a) => a === '--version' || a === '-V');
}

/**
 * Builds the `ringmaster` command tree (every group, only the one that owns `command`, or none for
 * `null`); `onAction` learns which command is about to run, before any other hook.
 */
export async function buildProgram(command?: string | null, onAction?: (cmd: Command) => void): Promise<Command> {
  const program = new Command('ringmaster')
    .description('GitOps control plane for fleets of stateful applications on many Kubernetes clusters')
    .version(CLIENT_VERSION, '-V, --version', 'print the client version')
    .option('--context <name>', 'config context to use (or RINGMASTER_CONTEXT; default: the current context, see `ringmaster config`)')
    .option('--no-color', 'never colour the output (also NO_COLOR; colour is used only on a terminal)')
    .exitOverride();
  if (onAction) program.hook('preAction', (_root, action) => onAction(action));
  const owner = GROUPS.find((g) => typeof command === 'string' && g.commands.includes(command));
  const groups = command === null ? [] : owner && !owner.all ? [owner] : GROUPS;
  for (const g of groups) (await g.load())(program);
  applyUsageHints(program);
  defaultRepoToCurrent(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code (docs/cli.md: 0 ok, 1 error, 2 "changes found" for plan). */
export async function main(argv: string[]): Promise<number> {
  let running: Command | undefined;
  const args = argv.slice(2);
  const program = await buildProgram(asksOnlyVersion(args) ? null : commandOf(args), (cmd) => {
    running = cmd;
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit through here with code 0; commander has printed the error and the usage line
      return err.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    process.stderr.write(formatError(err) + '\n');
    // a usage error found by the command itself gets the same two lines as one commander finds
    if (isUsageError(err)) process.stderr.write(usageHint(running ?? program) + '\n');
    return exitCodeFor(err);
  }
}
