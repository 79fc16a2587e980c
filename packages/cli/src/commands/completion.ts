import { Argument, type Command } from 'commander';
import { bashCompletion, commandSpecs, fishCompletion, zshCompletion } from '../completion.ts';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

/** `completion bash|zsh|fish`: a completion script generated from the command tree it is part of. */
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for commands, subcommands and flags')
    .addArgument(new Argument('<shell>', 'bash | zsh | fish').choices(Object.keys(SHELLS)))
    .addHelpText('after', '\nLoad it in the current shell:\n  bash:  source <(ringmaster completion bash)\n  zsh:   source <(ringmaster completion zsh)\n  fish:  ringmaster completion fish | source')
    .action((shell: keyof typeof SHELLS, _opts: unknown, cmd: Command) => {
      process.stdout.write(SHELLS[shell](commandSpecs(cmd.parent!)));
    });
}
