import { Command, CommanderError } from 'commander';
import { exitCodeFor, formatError } from './errors.ts';
import { registerFleetCommands } from './commands/fleet.ts';
import { registerDevCommands } from './commands/dev.ts';
import { registerServeCommands } from './commands/serve.ts';
import { registerTokenCommands } from './commands/token.ts';

/** Builds the `ringmaster` command tree; each commands/*.ts file registers one group of commands. */
export function buildProgram(): Command {
  const program = new Command('ringmaster')
    .description('GitOps control plane for fleets of stateful applications on many Kubernetes clusters')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerFleetCommands(program);
  registerDevCommands(program);
  registerServeCommands(program);
  registerTokenCommands(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code (0 ok, 1 error, 2 "changes found" for plan). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
