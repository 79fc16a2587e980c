import type { Command } from 'commander';

/** `ringmaster release create`: the words a user types to reach `cmd`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The two lines printed under a usage error: the command's usage line and where the full help is. */
export function usageHint(cmd: Command): string {
  const path = commandPath(cmd);
  return `usage: ${path} ${cmd.usage()}\nsee '${path} --help' for the options`;
}

/**
 * Makes every command answer a usage error with its own usage line instead of its whole help
 * (as kubectl does). Commander copies this setting only when a subcommand is created, so it is
 * set on the finished tree.
 */
export function applyUsageHints(cmd: Command): void {
  cmd.showHelpAfterError(usageHint(cmd));
  for (const sub of cmd.commands) applyUsageHints(sub);
}
