import type { Command } from 'commander';

/**
 * Colour only for a person at a terminal: never with --no-color, never when NO_COLOR is set to
 * anything but "" (no-color.org), never when stdout is a pipe or a file.
 */
export function colorEnabled(cmd: Command, stream: NodeJS.WriteStream = process.stdout): boolean {
  if (cmd.optsWithGlobals<{ color?: boolean }>().color === false) return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}
