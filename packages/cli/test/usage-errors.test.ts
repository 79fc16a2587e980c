import { describe, expect, it } from 'vitest';
import { ringmaster } from './helpers.ts';

/** The lines a usage error prints: the error, the command's usage line, where the help is. */
const lines = (s: string) => s.trimEnd().split('\n');

describe('usage errors', () => {
  it('prints the error and the usage line of the command, not its whole help, and exits 1', async () => {
    const r = await ringmaster(['release', 'create']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([
      "error: missing required argument 'revision'",
      'usage: ringmaster release create [options] <revision>',
      "see 'ringmaster release create --help' for the options",
    ]);
  });

  it('names an unknown option with the usage line of the command it was given to', async () => {
    const r = await ringmaster(['token', 'list', '--bogus']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      "error: unknown option '--bogus'",
      'usage: ringmaster token list [options]',
      "see 'ringmaster token list --help' for the options",
    ]);
  });

  it('answers an unknown command with a suggestion and the usage line of its parent', async () => {
    const r = await ringmaster(['release', 'lsit']);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      "error: unknown command 'lsit'",
      '(Did you mean list?)',
      'usage: ringmaster release [options] [command]',
      "see 'ringmaster release --help' for the options",
    ]);
  });

  it('gives a usage error found by the command itself the same usage line', async () => {
    const r = await ringmaster(['config', 'get-contexts', '-o', 'xml'], { env: { ...process.env, RINGMASTER_CONFIG: '/nonexistent/config.yaml' } });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      'error: --output must be one of table, json, yaml (got "xml")',
      'usage: ringmaster config get-contexts [options]',
      "see 'ringmaster config get-contexts --help' for the options",
    ]);
  });
});
