import type { Command } from 'commander';
import { api, connection, outputFormat } from '../client.ts';
import { writeMachine } from '../output.ts';
import { CLIENT_VERSION } from '../version.ts';

interface VersionReport {
  client: { version: string };
  server: { url: string; version: string } | { url: string; error: string } | null;
}

/** `version`: the client's version and, when a server is configured, the server's (kubectl version, argocd version). */
export function registerVersionCommand(program: Command): void {
  program
    .command('version')
    .description('print the client version, and the server version when a server is configured (--server, RINGMASTER_SERVER or a context)')
    .option('--client', 'only the client version; do not ask the server')
    .option('--server <url>', 'control plane URL (or RINGMASTER_SERVER, or the context\'s)')
    .option('-o, --output <format>', 'table | json | yaml')
    .action(async (opts: { client?: boolean }, cmd: Command) => {
      const format = outputFormat(cmd, ['table', 'json', 'yaml']);
      const report: VersionReport = { client: { version: CLIENT_VERSION }, server: null };
      const conn = opts.client ? undefined : connection(cmd);
      if (conn?.configured) {
        try {
          const answer = await api(conn, 'version');
          report.server = { url: conn.server, version: String(answer.version) };
        } catch (err) {
          report.server = { url: conn.server, error: (err as Error).message };
          process.exitCode = 1;
        }
      }
      if (writeMachine(format, report)) return;
      process.stdout.write(`client: ${CLIENT_VERSION}\n`);
      if (report.server && 'version' in report.server) process.stdout.write(`server: ${report.server.version} (${report.server.url})\n`);
      if (report.server && 'error' in report.server) process.stderr.write(`error: server ${report.server.url}: ${report.server.error}\n`);
    });
}
