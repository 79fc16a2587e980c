import { stringify } from 'yaml';
import { UsageError } from './errors.ts';

/** The `--output` formats every command accepts; each command lists the ones it supports. */
export type OutputFormat = 'table' | 'json' | 'yaml' | 'markdown';

export function parseOutput(value: string, allowed: OutputFormat[]): OutputFormat {
  if (!(allowed as string[]).includes(value)) {
    throw new UsageError(`--output must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as OutputFormat;
}

/** Writes machine-readable output (json/yaml); returns false when the format is for humans. */
export function writeMachine(format: OutputFormat, data: unknown): boolean {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    return true;
  }
  if (format === 'yaml') {
    process.stdout.write(stringify(data));
    return true;
  }
  return false;
}

/** Renders rows as an aligned plain-text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
