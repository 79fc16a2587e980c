import { Command, CommanderError } from 'commander';
import { exitCodeFor, formatError } from './errors.ts';

type Register = (program: Command) => void;

/**
 * Command groups, loaded only when their command runs: the control plane and the Kubernetes client
 * take a second to import, which `ringmaster plan` in a CI job should not pay.
 * To add a group: one entry here, naming the top-level commands it registers.
 */
const GROUPS: { commands: string[]; load: () => Promise<Register> }[] = [
  { commands: ['validate', 'render', 'plan'], load: async () => (await import('./commands/fleet.ts')).registerFleetCommands },
  { commands: ['dev'], load: async () => (await import('./commands/dev.ts')).registerDevCommands },
  { commands: ['serve'], load: async () => (await import('./commands/serve.ts')).registerServeCommands },
  { commands: ['token'], load: async () => (await import('./commands/token.ts')).registerTokenCommands },
  { commands: ['release'], load: async () => (await import('./commands/release.ts')).registerReleaseCommands },
];

/** Builds the `ringmaster` command tree (every group, or only the one that owns `command`). */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('ringmaster')
    .description('GitOps control plane for fleets of stateful applications on many Kubernetes clusters')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  const owner = GROUPS.find((g) => command !== undefined && g.commands.includes(command));
  for (const g of owner ? [owner] : GROUPS) (await g.load())(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code (0 ok, 1 error, 2 "changes found" for plan). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit through here with code 0
      return err.exitCode === 0 ? 0 : 1;
    }
    process.stderr.write(formatError(err) + '\n');
    return exitCodeFor(err);
  }
}
