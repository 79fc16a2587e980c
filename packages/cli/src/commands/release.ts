import type { Command } from 'commander';
import { parseOutput, table, writeMachine, type OutputFormat } from '../output.ts';

interface ClientOptions {
  server?: string;
  token?: string;
  output: string;
}

const TERMINAL = new Set(['succeeded', 'failed', 'halted', 'aborted', 'rolled_back']);

function usage(message: string): Error {
  return Object.assign(new Error(message), { code: 'RINGMASTER_USAGE' });
}

/** A small client for the release API: bearer token, JSON in and out, the server's error shape turned into an error. */
async function api(opts: ClientOptions, method: string, path: string, body?: unknown): Promise<any> {
  const server = (opts.server ?? process.env.RINGMASTER_SERVER ?? 'http://127.0.0.1:7420').replace(/\/$/, '');
  const token = opts.token ?? process.env.RINGMASTER_TOKEN;
  if (!token) throw usage('a token is needed: pass --token or set RINGMASTER_TOKEN (create one with `ringmaster token create`)');
  let res: Response;
  try {
    res = await fetch(`${server}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw Object.assign(new Error(`cannot reach the server at ${server}: ${(err as Error).message} (set --server or RINGMASTER_SERVER)`), { code: 'RINGMASTER_UNREACHABLE' });
  }
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as any) : undefined;
  if (!res.ok) {
    const e = parsed?.error ?? { code: 'RINGMASTER_HTTP', message: `HTTP ${res.status}` };
    const issues = (e.details?.issues ?? []) as Array<{ message: string; hint?: string; location?: { file: string; line: number; column: number } }>;
    const lines = issues.map((i) => `  ${i.location ? `${i.location.file}:${i.location.line}:${i.location.column}: ` : ''}${i.message}${i.hint ? ` — ${i.hint}` : ''}`);
    throw Object.assign(new Error([`${e.message}${e.field ? ` (field ${e.field})` : ''}`, ...lines].join('\n')), { code: e.code ?? 'RINGMASTER_HTTP', details: e.details });
  }
  return parsed;
}

function clientOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'control plane URL (or RINGMASTER_SERVER; default http://127.0.0.1:7420)')
    .option('--token <token>', 'bearer token (or RINGMASTER_TOKEN)')
    .option('-o, --output <format>', 'table | json | yaml', 'table');
}

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '-');
const ago = (iso: string | null) => (iso ? `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))}s ago` : '-');

/** The human view of a release: header, then one row per cluster step with its ring, wave and gate. */
export function formatRelease(rel: any): string {
  const p = rel.progress;
  const head = [
    `release ${rel.id}  ${rel.state}${rel.paused ? ' (paused)' : ''}${rel.phase === 'rollback' ? ' — rolling back' : ''}`,
    `revision ${short(rel.revision)}${rel.image ? `  image ${rel.image.app}=${rel.image.image}` : ''}  created by ${rel.createdBy} ${ago(rel.createdAt)}`,
    `progress ${p.succeeded}/${p.clusters} clusters succeeded, ${p.failed} failed, ${p.inFlight} in flight, ${p.pending} pending`,
    ...(rel.reason ? [`reason: ${rel.reason}`] : []),
    '',
  ];
  const rows: string[][] = [];
  for (const r of rel.rings) {
    const gate = r.gate ? (r.gate.kind === 'soak' ? `soak until ${r.gate.until.slice(11, 19)}` : r.gate.kind) : r.approval.required ? (r.approval.approvedBy ? `approved by ${r.approval.approvedBy}` : 'needs approval') : '';
    if (r.waves.length === 0) rows.push([r.ring, r.state, gate, '-', '(nothing to deliver)', '', '', '', '']);
    for (const w of r.waves) {
      for (const c of w.clusters) {
        rows.push([r.ring, r.state, gate, `${w.wave + 1}${w.label ? ` ${w.label}` : ''} ${w.state}`, c.cluster, c.mode, c.state, short(c.manifestCommit), (c.reason ?? '').slice(0, 80)]);
      }
    }
  }
  const body = table(['RING', 'RING STATE', 'GATE', 'WAVE', 'CLUSTER', 'MODE', 'STATE', 'COMMIT', 'REASON'], rows);
  const rollback = rel.rollback
    ? '\n\nrollback:\n' + table(['CLUSTER', 'STATE', 'COMMIT', 'REASON'], rel.rollback.clusters.map((c: any) => [c.cluster, c.state, short(c.manifestCommit), (c.reason ?? '').slice(0, 80)]))
    : '';
  return head.join('\n') + body + rollback;
}

function show(format: OutputFormat, rel: any): void {
  if (!writeMachine(format, rel)) process.stdout.write(formatRelease(rel) + '\n');
}

/** `release create|status|approve|pause|resume|abort|rollback`: drive releases on the control plane over HTTP. */
export function registerReleaseCommands(program: Command): void {
  const release = program.command('release').description('promote fleet revisions ring by ring (talks to `ringmaster serve`)');

  clientOptions(release.command('create')
    .description('create a release of a fleet-repo revision; it starts at once (first ring) unless the ring needs approval')
    .argument('<revision>', 'fleet-repo revision: branch, tag or SHA')
    .option('--image <app=image>', 'override one app\'s image value, e.g. appserver=appserver:7.5.0 (or appserver=repo:tag@proxy.image for another value path)')
    .option('-m, --message <text>', 'why (shown in the release and the journey)'))
    .action(async (revision: string, opts: ClientOptions & { image?: string; message?: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      let image: { app: string; image: string; path?: string } | undefined;
      if (opts.image) {
        const m = /^([^=]+)=([^@\s]+(?:@sha256:[0-9a-f]{64})?)(?:@([A-Za-z0-9_.-]+))?$/.exec(opts.image);
        if (!m) throw usage(`--image must be app=image[@value.path] (got "${opts.image}")`);
        image = { app: m[1]!, image: m[2]!, ...(m[3] ? { path: m[3] } : {}) };
      }
      const rel = await api(opts, 'POST', '/releases', { revision, ...(image ? { image } : {}), ...(opts.message ? { message: opts.message } : {}) });
      show(format, rel);
    });

  clientOptions(release.command('status')
    .description('show a release (or list releases without an id); --watch follows it until it finishes')
    .argument('[id]', 'release id')
    .option('-w, --watch', 'redraw every --interval until the release finishes')
    .option('--interval <seconds>', 'refresh interval for --watch', '2')
    .option('--limit <n>', 'releases to list', '20'))
    .action(async (id: string | undefined, opts: ClientOptions & { watch?: boolean; interval: string; limit: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      if (!id) {
        const list = await api(opts, 'GET', `/releases?limit=${encodeURIComponent(opts.limit)}`);
        if (!writeMachine(format, list)) {
          process.stdout.write(table(['ID', 'STATE', 'REVISION', 'IMAGE', 'CLUSTERS', 'CREATED BY', 'CREATED'],
            list.releases.map((r: any) => [r.id, r.state + (r.paused ? ' (paused)' : ''), short(r.revision), r.image ? `${r.image.app}=${r.image.image}` : '', String(r.summary.clusters), r.createdBy, r.createdAt])) + '\n');
        }
        return;
      }
      const interval = Number(opts.interval) * 1000;
      if (!(interval > 0)) throw usage(`--interval must be a positive number of seconds (got "${opts.interval}")`);
      for (;;) {
        const rel = await api(opts, 'GET', `/releases/${encodeURIComponent(id)}`);
        if (opts.watch && format === 'table' && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        if (opts.watch && format === 'json') process.stdout.write(JSON.stringify(rel) + '\n');
        else show(format, rel);
        if (!opts.watch || TERMINAL.has(rel.state)) {
          if (TERMINAL.has(rel.state) && rel.state !== 'succeeded' && opts.watch) process.exitCode = 1;
          return;
        }
        await new Promise((r) => setTimeout(r, interval));
      }
    });

  clientOptions(release.command('approve')
    .description('approve the ring waiting for approval (or --ring); needs the approver role for that ring and its apps')
    .argument('<id>', 'release id')
    .option('--ring <ring>', 'ring to approve (default: the one waiting)')
    .option('--comment <text>', 'kept with the approval'))
    .action(async (id: string, opts: ClientOptions & { ring?: string; comment?: string }) => {
      const format = parseOutput(opts.output, ['table', 'json', 'yaml']);
      show(format, await api(opts, 'POST', `/releases/${encodeURIComponent(id)}/approve`, { ...(opts.ring ? { ring: opts.ring } : {}), ...(opts.comment ? { comment: opts.comment } : {}) }));
    });

  for (const [name, description] of [
    ['pause', 'stop starting clusters (in-flight ones finish)'],
    ['resume', 'continue a paused release'],
  ] as const) {
    clientOptions(release.command(name).description(description).argument('<id>', 'release id'))
      .action(async (id: string, opts: ClientOptions) => {
        show(parseOutput(opts.output, ['table', 'json', 'yaml']), await api(opts, 'POST', `/releases/${encodeURIComponent(id)}/${name}`, {}));
      });
  }
  for (const [name, description] of [
    ['abort', 'stop the release for good (what was delivered stays; roll back to undo it)'],
    ['rollback', 're-deliver the previous state to every cluster the release touched'],
  ] as const) {
    clientOptions(release.command(name).description(description).argument('<id>', 'release id').option('--reason <text>', 'why (audit and journey)'))
      .action(async (id: string, opts: ClientOptions & { reason?: string }) => {
        show(parseOutput(opts.output, ['table', 'json', 'yaml']), await api(opts, 'POST', `/releases/${encodeURIComponent(id)}/${name}`, opts.reason ? { reason: opts.reason } : {}));
      });
  }
}
