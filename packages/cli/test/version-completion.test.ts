import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/harness.ts';
import { cleanEnv, ringmaster, tempDir } from './helpers.ts';

const version = (pkg: string) => (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const dir = tempDir('completion');
const env = cleanEnv(join(dir, 'config.yaml'));
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ dataDir: join(dir, 'data') });
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a shell script and resolves to its stdout (rejects with stderr on failure). */
function shell(bin: string, args: string[], script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, [...args, script], { cwd: dir }, (err, stdout, stderr) => (err ? reject(new Error(`${bin}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

const has = (bin: string) => new Promise<boolean>((resolve) => execFile(bin, ['--version'], (err) => resolve(!err)));

describe('ringmaster version', () => {
  it('--version prints the version of the CLI package', async () => {
    const r = await ringmaster(['--version'], { env });
    expect(r.stdout.trim()).toBe(version('cli'));
  });

  it('prints the client version only when no server is configured', async () => {
    const r = await ringmaster(['version', '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ client: { version: version('cli') }, server: null });
  });

  it('asks the configured server for its version (no token needed)', async () => {
    const r = await ringmaster(['version', '-o', 'json'], { env: { ...env, RINGMASTER_SERVER: server.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ client: { version: version('cli') }, server: { url: server.url, version: version('server') } });
    const text = await ringmaster(['version', '--server', server.url], { env });
    expect(text.stdout).toBe(`client: ${version('cli')}\nserver: ${version('server')} (${server.url})\n`);
  });

  it('prints the client version and fails when the server does not answer', async () => {
    const r = await ringmaster(['version', '--server', 'http://127.0.0.1:9'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`client: ${version('cli')}\n`);
    expect(r.stderr).toContain('cannot reach the server at http://127.0.0.1:9');
  });
});

describe('ringmaster completion', () => {
  let bash = '';
  beforeAll(async () => {
    const r = await ringmaster(['completion', 'bash'], { env });
    expect(r.code, r.stderr).toBe(0);
    bash = join(dir, 'ringmaster.bash');
    writeFileSync(bash, r.stdout);
  }, 60_000);

  /** COMPREPLY after sourcing the script in a real bash, for the words typed so far (the last one being completed). */
  async function complete(...words: string[]): Promise<string[]> {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const out = await shell('bash', ['--norc', '--noprofile', '-c'], `source '${bash}'; COMP_WORDS=(ringmaster ${quoted}); COMP_CWORD=${words.length}; _ringmaster; printf '%s\\n' "\${COMPREPLY[@]}"`);
    return out.split('\n').filter(Boolean);
  }

  it('completes commands, subcommands, flags and flag values in bash', async () => {
    expect(await complete('re')).toEqual(['render', 'release', 'request']);
    expect(await complete('release', 'ap')).toEqual(['approve']);
    expect(await complete('release', 'approve', '--r')).toEqual(['--ring']);
    expect(await complete('--context', 'prod', 'release', 'list', '-o', '')).toEqual(['table', 'json', 'yaml']);
    expect(await complete('config', 'use')).toEqual(['use-context']);
    expect(await complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    // the value of --interval is not a subcommand: the walk skips it
    expect(await complete('release', 'status', '--interval', '3', '--wa')).toEqual(['--watch']);
  });

  it('knows every command of the CLI, since it is generated from the command tree', async () => {
    const help = await ringmaster(['--help'], { env });
    const commands = [...help.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(8);
    expect((await complete('')).sort()).toEqual(commands.sort());
  });

  /** The script of a shell, written to a file in the test folder. */
  async function script(sh: string): Promise<string> {
    const r = await ringmaster(['completion', sh], { env });
    expect(r.code, r.stderr).toBe(0);
    const file = join(dir, `ringmaster.${sh}`);
    writeFileSync(file, r.stdout);
    return file;
  }

  it('completes the same way in fish', async () => {
    if (!(await has('fish'))) return; // fish is not installed here; bash above covers the walk
    const file = await script('fish');
    const complete = async (line: string) => (await shell('fish', ['--no-config', '-c'], `source '${file}'; complete -C '${line}'`)).split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    expect(await complete('ringmaster release ap')).toEqual(['approve']);
    expect((await complete('ringmaster release list -o ')).sort()).toEqual(['json', 'table', 'yaml']); // fish sorts
    expect(await complete('ringmaster release approve --ri')).toEqual(['--ring']);
  });

  it('completes the same way in zsh', async () => {
    if (!(await has('zsh'))) return; // zsh is not installed here; bash above covers the walk
    const file = await script('zsh');
    // compadd and compdef belong to zsh's completion system, which needs a terminal: stand-ins print what it would offer for $PREFIX
    const complete = async (...words: string[]) => (await shell('zsh', ['-f', '-c'], `compdef() { :; }; compadd() { shift; local w; for w in "$@"; do [[ $w == $PREFIX* ]] && print -r -- $w; done; return 0; }; source '${file}'; words=(ringmaster ${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length + 1}; PREFIX='${words.at(-1)}'; _ringmaster`)).split('\n').filter(Boolean);
    expect(await complete('release', 'ap')).toEqual(['approve']);
    expect(await complete('release', 'list', '-o', '')).toEqual(['table', 'json', 'yaml']);
    expect(await complete('release', 'approve', '--ri')).toEqual(['--ring']);
  });
});
