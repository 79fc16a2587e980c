import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createToken, isRole, listTokens, openStorage, revokeToken, ROLES, type Storage } from '@ringmaster/server';
import { UsageError } from '../errors.ts';
import { parseOutput, table, writeMachine } from '../output.ts';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

interface StoreOptions {
  dataDir: string;
  databaseUrl?: string;
}

/** The SQLite file `openStorage` keeps in a data folder. */
const SQLITE_FILE = 'ringmaster.db';

/**
 * Opens the database. Only `token create` may start a new one (it bootstraps the first admin);
 * the other commands refuse a data folder without a database instead of creating an empty one.
 */
async function withStorage<T>(opts: StoreOptions, fn: (s: Storage) => Promise<T>, mode: 'create' | 'existing' = 'existing'): Promise<T> {
  const databaseUrl = opts.databaseUrl ?? process.env.RINGMASTER_DATABASE_URL;
  if (!databaseUrl && mode === 'existing' && !existsSync(join(resolve(opts.dataDir), SQLITE_FILE))) {
    throw new UsageError(`${resolve(opts.dataDir)} holds no Ringmaster database (${SQLITE_FILE}): pass the --data-dir that \`ringmaster serve\` uses, or --database-url`);
  }
  const storage = await openStorage({ dataDir: opts.dataDir, databaseUrl });
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'folder of the embedded SQLite database', '.ringmaster')
    .option('--database-url <url>', 'postgres://… (or RINGMASTER_DATABASE_URL)');
}

/** `token create|list|revoke`: manage API tokens directly in the database (bootstraps the first admin). */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API bearer tokens directly in the database');

  storeOptions(token.command('create')
    .description('create a token and print it once (only its SHA-256 is stored)')
    .requiredOption('--name <name>', 'who or what uses the token (shown in the audit trail)')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--apps <list>', 'comma-separated apps the token may act on (deployer/approver; default all)', list)
    .option('--rings <list>', 'comma-separated rings the token may act on (deployer/approver; default all)', list)
    .option('-o, --output <format>', 'table | json | yaml', 'table'))
    .action(async (opts: StoreOptions & { name: string; role: string; apps?: string[]; rings?: string[]; output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      if (!isRole(opts.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')} (got "${opts.role}")`);
      const role = opts.role;
      const created = await withStorage(opts, (s) => createToken(s, { name: opts.name, role, apps: opts.apps, rings: opts.rings, createdBy: 'cli' }), 'create');
      if (!writeMachine(format, { token: created.token, ...created.info })) {
        process.stderr.write(`created token "${created.info.name}" (${created.info.role}, id ${created.info.id}); it is shown only now:\n`);
        process.stdout.write(created.token + '\n');
      }
    });

  storeOptions(token.command('list')
    .description('list tokens (never their values)')
    .option('-o, --output <format>', 'table | json | yaml', 'table'))
    .action(async (opts: StoreOptions & { output: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      const tokens = await withStorage(opts, (s) => listTokens(s));
      if (!writeMachine(format, tokens)) {
        process.stdout.write(table(['ID', 'NAME', 'ROLE', 'APPS', 'RINGS', 'CREATED', 'REVOKED'],
          tokens.map((t) => [t.id, t.name, t.role, t.apps.join(',') || '*', t.rings.join(',') || '*', t.createdAt, t.revokedAt ?? ''])) + '\n');
      }
    });

  storeOptions(token.command('revoke')
    .description('revoke a token by id (servers stop accepting it within seconds)')
    .argument('<id>', 'token id from `token list`'))
    .action(async (id: string, opts: StoreOptions) => {
      await withStorage(opts, (s) => revokeToken(s, id));
      process.stderr.write(`revoked token ${id}\n`);
    });
}
