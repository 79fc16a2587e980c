import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, stringify, type Node } from 'yaml';
import { isUnsafeKey } from '@ringmaster/fleet';

/** The formats a context may set as its default `--output`. */
export const CONTEXT_OUTPUTS = ['table', 'json', 'yaml'] as const;

/** One named control plane: where it is, how to authenticate, and optionally the default output. */
export interface Context {
  name: string;
  server: string;
  /** The token itself (written with `--token`). */
  token?: string;
  /** A file holding the token, read at each use (written with `--token-file`; the token stays out of this file). */
  tokenFile?: string;
  output?: (typeof CONTEXT_OUTPUTS)[number];
}

/** The CLI's own config file, like kubectl's kubeconfig contexts and argocd's config. */
export interface CliConfig {
  currentContext?: string;
  contexts: Context[];
}

/** A broken config file: names the file, line and column, and what is wrong. */
export class ConfigError extends Error {
  readonly code = 'RINGMASTER_CONFIG';
}

/** $RINGMASTER_CONFIG, else $XDG_CONFIG_HOME/ringmaster/config.yaml, else ~/.config/ringmaster/config.yaml. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RINGMASTER_CONFIG) return resolve(env.RINGMASTER_CONFIG);
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'ringmaster', 'config.yaml');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}$/;

/** Why a context name is refused, or undefined when it is fine. */
export function badContextName(name: string): string | undefined {
  if (!NAME.test(name) || isUnsafeKey(name)) {
    return `context name "${name}" must be 1-100 letters, digits, ".", "_", "@", ":" or "-", starting with a letter or digit (and not ${['__proto__', 'constructor', 'prototype'].join('/')})`;
  }
  return undefined;
}

/** Why a server URL is refused, or undefined when it is an http(s) URL. */
export function badServerUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return undefined;
  } catch {
    // falls through to the message
  }
  return `server "${url}" must be an http:// or https:// URL`;
}

type Where = (node: unknown) => string;

function field(ctx: Record<string, unknown>, key: string, at: Where, node: Node | undefined): string | undefined {
  const v = ctx[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${at(node)}: "${key}" must be a non-empty string`);
  return v;
}

function parseContext(item: Node, at: Where): Context {
  if (!isMap(item)) throw new ConfigError(`${at(item)}: each context must be a map with name and server`);
  const raw = item.toJSON() as Record<string, unknown>;
  const node = (key: string) => (item.get(key, true) as Node | undefined) ?? item;
  for (const key of Object.keys(raw)) {
    if (!['name', 'server', 'token', 'tokenFile', 'output'].includes(key)) {
      throw new ConfigError(`${at(item.items.find((p) => String((p.key as { value?: unknown })?.value) === key)?.key)}: unknown field "${key}" (a context has name, server, token or tokenFile, output)`);
    }
  }
  const name = field(raw, 'name', at, node('name'));
  if (name === undefined) throw new ConfigError(`${at(item)}: a context needs a name`);
  const nameProblem = badContextName(name);
  if (nameProblem) throw new ConfigError(`${at(node('name'))}: ${nameProblem}`);
  const server = field(raw, 'server', at, node('server'));
  if (server === undefined) throw new ConfigError(`${at(item)}: context "${name}" needs a server`);
  const serverProblem = badServerUrl(server);
  if (serverProblem) throw new ConfigError(`${at(node('server'))}: ${serverProblem}`);
  const token = field(raw, 'token', at, node('token'));
  const tokenFile = field(raw, 'tokenFile', at, node('tokenFile'));
  if (token && tokenFile) throw new ConfigError(`${at(item)}: context "${name}" has both token and tokenFile; keep one`);
  const output = field(raw, 'output', at, node('output'));
  if (output !== undefined && !(CONTEXT_OUTPUTS as readonly string[]).includes(output)) {
    throw new ConfigError(`${at(node('output'))}: output must be one of ${CONTEXT_OUTPUTS.join(', ')} (got "${output}")`);
  }
  return { name, server, ...(token ? { token } : {}), ...(tokenFile ? { tokenFile } : {}), ...(output ? { output: output as Context['output'] } : {}) };
}

/** Reads and checks the config file; a missing file is an empty config. */
export function readConfig(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw new ConfigError(`cannot read the config file ${path}: ${(err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at: Where = (node) => {
    const offset = (node as { range?: [number] } | undefined)?.range?.[0] ?? 0;
    const { line, col } = lines.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ConfigError(`${path}:${e.linePos?.[0].line ?? 1}:${e.linePos?.[0].col ?? 1}: ${e.message.split('\n')[0]}`);
  }
  if (doc.contents === null) return { contexts: [] };
  if (!isMap(doc.contents)) throw new ConfigError(`${at(doc.contents)}: the config file must be a map with currentContext and contexts`);
  const root = doc.contents;
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value);
    if (key !== 'currentContext' && key !== 'contexts') throw new ConfigError(`${at(pair.key)}: unknown field "${key}" (the file has currentContext and contexts)`);
  }
  const list = root.get('contexts', true) as Node | undefined;
  if (list !== undefined && !isSeq(list)) throw new ConfigError(`${at(list)}: contexts must be a list`);
  const contexts: Context[] = [];
  for (const item of list?.items ?? []) {
    const ctx = parseContext(item as Node, at);
    if (contexts.some((c) => c.name === ctx.name)) throw new ConfigError(`${at(item)}: context "${ctx.name}" is defined twice`);
    contexts.push(ctx);
  }
  const current = root.get('currentContext');
  if (current !== undefined && current !== null && typeof current !== 'string') throw new ConfigError(`${at(root.get('currentContext', true))}: currentContext must be a context name`);
  return { ...(current ? { currentContext: current } : {}), contexts };
}

/** Writes the config file with mode 0600 (it may hold tokens), atomically: a temporary sibling, then a rename. */
export function writeConfig(path: string, config: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const body = { ...(config.currentContext ? { currentContext: config.currentContext } : {}), contexts: config.contexts };
  try {
    writeFileSync(tmp, '# written by `ringmaster config`; see docs/cli.md\n' + stringify(body), { mode: 0o600 });
    // the mode of writeFileSync is masked by the umask; the file must be 0600 whatever the umask is
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ConfigError(`cannot write the config file ${path}: ${(err as Error).message}`);
  }
}

/** The token of a context: its own, or the content of its token file (relative paths are from the config file). */
export function contextToken(ctx: Context, configFile: string): string | undefined {
  if (ctx.token) return ctx.token;
  if (!ctx.tokenFile) return undefined;
  const file = resolve(dirname(configFile), ctx.tokenFile);
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`context "${ctx.name}": cannot read its token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!token) throw new ConfigError(`context "${ctx.name}": its token file ${file} is empty`);
  return token;
}
