import { resolve } from 'node:path';
import type { Command } from 'commander';
import { badContextName, badServerUrl, ConfigError, CONTEXT_OUTPUTS, configPath, contextToken, readConfig, writeConfig, type CliConfig, type Context } from '../config.ts';
import { UsageError } from '../errors.ts';
import { parseOutput, table, writeMachine } from '../output.ts';

/** How a context's token is shown: never the token itself. */
function tokenShown(c: Context): string | null {
  if (c.token) return '<redacted>';
  if (c.tokenFile) return `file ${c.tokenFile}`;
  return null;
}

function find(config: CliConfig, name: string, file: string): Context {
  const c = config.contexts.find((x) => x.name === name);
  if (!c) throw new ConfigError(`no context "${name}" in ${file} (contexts: ${config.contexts.map((x) => x.name).join(', ') || 'none'})`);
  return c;
}

interface SetContextOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
  output?: string;
  current?: boolean;
}

/** The context after `set-context`: the given fields replace the old ones; a new context needs a server. */
function updated(old: Context | undefined, name: string, opts: SetContextOptions): Context {
  if (opts.token !== undefined && opts.tokenFile !== undefined) throw new UsageError('give --token or --token-file, not both');
  if (opts.token === '' || opts.tokenFile === '') throw new UsageError('--token and --token-file take a non-empty value');
  const server = opts.server ?? old?.server;
  if (server === undefined) throw new UsageError(`context "${name}" is new: --server URL is required`);
  const problem = badServerUrl(server);
  if (problem) throw new UsageError(`--server: ${problem}`);
  const output = opts.output === undefined ? old?.output : parseOutput(opts.output, [...CONTEXT_OUTPUTS]) as Context['output'];
  const auth = opts.token !== undefined ? { token: opts.token } : opts.tokenFile !== undefined ? { tokenFile: resolve(opts.tokenFile) }
    : { ...(old?.token ? { token: old.token } : {}), ...(old?.tokenFile ? { tokenFile: old.tokenFile } : {}) };
  return { name, server, ...auth, ...(output ? { output } : {}) };
}

/** `config set-context|use-context|get-contexts|current-context|delete-context`: the CLI's contexts, as kubectl has them. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('contexts (server, token, default output) in ~/.config/ringmaster/config.yaml, so flags need not be repeated');

  config.command('set-context')
    .description('create or update a context (the first one becomes the current context)')
    .argument('<name>', 'context name, e.g. prod')
    .option('--server <url>', 'control plane URL, e.g. https://ringmaster.example.net')
    .option('--token-file <file>', 'file holding the bearer token; it is read at each use and stays out of the config file')
    .option('--token <token>', 'the bearer token itself, kept in the config file (mode 0600); prefer --token-file')
    .option('--output <format>', `default --output of this context's commands: ${CONTEXT_OUTPUTS.join(' | ')}`)
    .option('--current', 'make it the current context')
    .action((name: string, opts: SetContextOptions) => {
      const problem = badContextName(name);
      if (problem) throw new UsageError(problem);
      const file = configPath();
      const cfg = readConfig(file);
      const old = cfg.contexts.find((c) => c.name === name);
      const next = updated(old, name, opts);
      // a token file that cannot be read is refused now, not at the first release command
      if (opts.tokenFile !== undefined) contextToken(next, file);
      const contexts = old ? cfg.contexts.map((c) => (c === old ? next : c)) : [...cfg.contexts, next];
      const current = opts.current || !cfg.currentContext ? name : cfg.currentContext;
      writeConfig(file, { currentContext: current, contexts });
      process.stderr.write(`${old ? 'updated' : 'created'} context "${name}" in ${file}${current === name ? ' (current)' : ''}\n`);
    });

  config.command('use-context')
    .description('make a context the current one')
    .argument('<name>', 'context name')
    .action((name: string) => {
      const file = configPath();
      const cfg = readConfig(file);
      find(cfg, name, file);
      writeConfig(file, { ...cfg, currentContext: name });
      process.stderr.write(`switched to context "${name}"\n`);
    });

  config.command('get-contexts')
    .description('list contexts (tokens are never shown)')
    .option('-o, --output <format>', 'table | json | yaml | name', 'table')
    .action((opts: { output: string }) => {
      const format = opts.output === 'name' ? 'name' : parseOutput(opts.output, ['table', 'json', 'yaml']);
      const file = configPath();
      const cfg = readConfig(file);
      const rows = cfg.contexts.map((c) => ({ name: c.name, current: c.name === cfg.currentContext, server: c.server, token: tokenShown(c), output: c.output ?? null }));
      if (format === 'name') return void process.stdout.write(rows.map((r) => r.name + '\n').join(''));
      if (writeMachine(format, { file, currentContext: cfg.currentContext ?? null, contexts: rows })) return;
      if (rows.length === 0) return void process.stdout.write(`no contexts in ${file}; add one with: ringmaster config set-context NAME --server URL --token-file FILE\n`);
      process.stdout.write(table(['CURRENT', 'NAME', 'SERVER', 'TOKEN', 'OUTPUT'], rows.map((r) => [r.current ? '*' : '', r.name, r.server, r.token ?? '-', r.output ?? '-'])) + '\n');
    });

  config.command('current-context')
    .description('print the name of the current context')
    .action(() => {
      const file = configPath();
      const cfg = readConfig(file);
      if (!cfg.currentContext) throw new ConfigError(`no current context is set in ${file}; set one with \`ringmaster config use-context NAME\``);
      process.stdout.write(cfg.currentContext + '\n');
    });

  config.command('delete-context')
    .description('remove a context (and unset it if it is the current one)')
    .argument('<name>', 'context name')
    .action((name: string) => {
      const file = configPath();
      const cfg = readConfig(file);
      find(cfg, name, file);
      writeConfig(file, { ...(cfg.currentContext && cfg.currentContext !== name ? { currentContext: cfg.currentContext } : {}), contexts: cfg.contexts.filter((c) => c.name !== name) });
      process.stderr.write(`deleted context "${name}" from ${file}\n`);
    });
}
