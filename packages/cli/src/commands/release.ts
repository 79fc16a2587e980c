import type { Command } from 'commander';
import type { FlightState, ReleaseListItem, ReleaseView, RouteOutput } from '@ringmaster/api';
import { api, clientOptions, connection, outputFormat, type Connection } from '../client.ts';
import { UsageError } from '../errors.ts';
import { table, writeMachine, type OutputFormat } from '../output.ts';
import { formatRelease, isFinished, releaseChanges } from '../release-view.ts';
import { concurrencyWords } from '../concurrency-view.ts';

const FORMATS: OutputFormat[] = ['table', 'json', 'yaml'];

/** What `release list` shows of a release. */
type ListedRelease = Pick<ReleaseListItem, 'id' | 'revision' | 'image' | 'state' | 'paused' | 'createdBy' | 'createdAt'> & Partial<Pick<ReleaseListItem, 'waitsFor' | 'supersededBy'>> & { summary: Pick<ReleaseListItem['summary'], 'clusters' | 'apps'> };

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '-');

function show(format: OutputFormat, rel: ReleaseView): void {
  if (!writeMachine(format, rel)) process.stdout.write(formatRelease(rel) + '\n');
}

/** Releases newest first, filtered by state (on the server) and app (here, page by page), at most `limit`. */
async function listReleases(conn: Connection, filter: { state?: string; app?: string; limit: number }): Promise<ListedRelease[]> {
  const found: ListedRelease[] = [];
  let before: number | null = null;
  // bounded: 20 pages of 500 releases is far more history than a terminal list needs
  for (let page = 0; page < 20 && found.length < filter.limit; page++) {
    const query = { limit: filter.app ? 500 : Math.min(500, filter.limit), state: filter.state as FlightState | undefined, before: before ?? undefined };
    const res: RouteOutput<'listReleases'> = await api(conn, 'listReleases', { query });
    found.push(...res.releases.filter((r) => !filter.app || r.summary.apps.includes(filter.app) || r.image?.app === filter.app));
    if (res.nextBefore === null) break;
    before = res.nextBefore;
  }
  return found.slice(0, filter.limit);
}

function listTable(releases: ListedRelease[]): string {
  return table(['ID', 'STATE', 'REVISION', 'IMAGE', 'APPS', 'CLUSTERS', 'CREATED BY', 'CREATED'],
    releases.map((r) => [r.id, r.state + (r.paused ? ' (paused)' : '') + concurrencyWords(r), short(r.revision), r.image ? `${r.image.app}=${r.image.image}` : '', r.summary.apps.join(',') || '-', String(r.summary.clusters), r.createdBy, r.createdAt]));
}

/** The release `approve` acts on when no id is given: the only one waiting for approval. */
export function onlyWaiting(waiting: ListedRelease[]): string {
  if (waiting.length === 1) return waiting[0]!.id;
  if (waiting.length === 0) throw new UsageError('no release is waiting for approval (see `ringmaster release list`); name the release to approve a ring ahead of time: ringmaster release approve ID --ring RING');
  const lines = waiting.map((r) => `  ${r.id}  ${short(r.revision)}${r.image ? `  ${r.image.app}=${r.image.image}` : ''}  created by ${r.createdBy} at ${r.createdAt}`);
  throw new UsageError([`${waiting.length} releases are waiting for approval; name one (ringmaster release approve ID):`, ...lines].join('\n'));
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new UsageError(`${flag} must be a positive number (got "${value}")`);
  return n;
}

/**
 * Follows a release until it finishes. On a terminal the view is redrawn; otherwise (a CI log, a
 * pipe) the view is printed once and then one line per change, so the log reads as a history.
 */
async function watch(conn: Connection, id: string, format: OutputFormat, intervalMs: number): Promise<ReleaseView> {
  const tty = process.stdout.isTTY === true;
  let prev: ReleaseView | undefined;
  for (;;) {
    const rel = await api(conn, 'getRelease', { params: { id } });
    const changes = prev ? releaseChanges(prev, rel) : [];
    if (format === 'table' && tty) process.stdout.write('\x1b[2J\x1b[H' + formatRelease(rel) + '\n');
    else if (format === 'table' && !prev) process.stdout.write(formatRelease(rel) + '\n');
    else if (format === 'table') for (const line of changes) process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
    else if ((!prev || changes.length) && format === 'json') process.stdout.write(JSON.stringify(rel) + '\n');
    else if (!prev || changes.length) {
      process.stdout.write('---\n');
      writeMachine('yaml', rel);
    }
    if (isFinished(rel)) return rel;
    prev = rel;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `release create|list|status|approve|pause|resume|abort|rollback`: drive releases on the control plane over HTTP. */
export function registerReleaseCommands(program: Command): void {
  const release = program.command('release').description('promote fleet revisions ring by ring (talks to `ringmaster serve`)');

  clientOptions(release.command('create')
    .description('create a release of a fleet-repo revision; it starts at once (first ring) unless the ring needs approval')
    .argument('<revision>', 'fleet-repo revision: branch, tag or SHA')
    .option('--image <app=image>', 'override one app\'s image value, e.g. appserver=appserver:7.5.0 (or appserver=repo:tag@proxy.image for another value path)')
    .option('-m, --message <text>', 'why (shown in the release and the journey)'))
    .action(async (revision: string, opts: { image?: string; message?: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      let image: { app: string; image: string; path?: string } | undefined;
      if (opts.image) {
        const m = /^([^=]+)=([^@\s]+(?:@sha256:[0-9a-f]{64})?)(?:@([A-Za-z0-9_.-]+))?$/.exec(opts.image);
        if (!m) throw new UsageError(`--image must be app=image[@value.path] (got "${opts.image}")`);
        image = { app: m[1]!, image: m[2]!, ...(m[3] ? { path: m[3] } : {}) };
      }
      show(format, await api(connection(cmd), 'createRelease', { body: { revision, ...(image ? { image } : {}), ...(opts.message ? { message: opts.message } : {}) } }));
    });

  const list = async (opts: { state?: string; app?: string; limit: string }, cmd: Command) => {
    const format = outputFormat(cmd, FORMATS);
    const limit = positiveNumber('--limit', opts.limit);
    const releases = await listReleases(connection(cmd), { state: opts.state, app: opts.app, limit });
    if (!writeMachine(format, { releases })) process.stdout.write(releases.length ? listTable(releases) + '\n' : 'no releases\n');
  };
  clientOptions(release.command('list')
    .description('list releases, newest first')
    .option('--state <state>', 'only releases in this state, e.g. waiting_for_approval, in_progress, rolled_back')
    .option('--app <app>', 'only releases that change this app')
    .option('--limit <n>', 'releases to list', '20'))
    .action(list);

  clientOptions(release.command('status')
    .description('show a release (without an id: `release list`); --watch follows it until it finishes')
    .argument('[id]', 'release id')
    .option('-w, --watch', 'follow the release until it finishes: redrawn on a terminal, one line per change otherwise')
    .option('--interval <seconds>', 'refresh interval for --watch', '2')
    .option('--limit <n>', 'releases to list (without an id)', '20'))
    .action(async (id: string | undefined, opts: { watch?: boolean; interval: string; limit: string }, cmd: Command) => {
      if (!id) return list({ limit: opts.limit }, cmd);
      const format = outputFormat(cmd, FORMATS);
      const interval = positiveNumber('--interval', opts.interval) * 1000;
      const conn = connection(cmd);
      if (!opts.watch) return show(format, await api(conn, 'getRelease', { params: { id } }));
      const rel = await watch(conn, id, format, interval);
      if (rel.state !== 'succeeded') process.exitCode = 1;
    });

  clientOptions(release.command('approve')
    .description('approve the ring waiting for approval (or --ring); needs the approver role for that ring and its apps')
    .argument('[id]', 'release id (default: the one release waiting for approval)')
    .option('--ring <ring>', 'ring to approve (default: the one waiting)')
    .option('--comment <text>', 'kept with the approval'))
    .action(async (id: string | undefined, opts: { ring?: string; comment?: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const conn = connection(cmd);
      const target = id ?? onlyWaiting(await listReleases(conn, { state: 'waiting_for_approval', limit: 500 }));
      show(format, await api(conn, 'approveRelease', { params: { id: target }, body: { ...(opts.ring ? { ring: opts.ring } : {}), ...(opts.comment ? { comment: opts.comment } : {}) } }));
    });

  for (const [name, description] of [
    ['pause', 'stop starting clusters (in-flight ones finish)'],
    ['resume', 'continue a paused release'],
  ] as const) {
    clientOptions(release.command(name).description(description).argument('<id>', 'release id'))
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        show(outputFormat(cmd, FORMATS), await api(connection(cmd), name === 'pause' ? 'pauseRelease' : 'resumeRelease', { params: { id } }));
      });
  }
  for (const [name, description] of [
    ['abort', 'stop the release for good (what was delivered stays; roll back to undo it)'],
    ['rollback', 're-deliver the previous state to every cluster the release touched'],
  ] as const) {
    clientOptions(release.command(name).description(description).argument('<id>', 'release id').option('--reason <text>', 'why (audit and journey)'))
      .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
        show(outputFormat(cmd, FORMATS), await api(connection(cmd), name === 'abort' ? 'abortRelease' : 'rollbackRelease', { params: { id }, body: opts.reason ? { reason: opts.reason } : {} }));
      });
  }
  clientOptions(release.command('override')
    .description("let one release pass its rings' deployment windows or the freeze; needs the admin role")
    .argument('<id>', 'release id')
    .requiredOption('--gate <gate>', 'window or freeze')
    .requiredOption('--reason <text>', 'why (required; shown on the release and in the audit)'))
    .action(async (id: string, opts: { gate: string; reason: string }, cmd: Command) => {
      if (opts.gate !== 'window' && opts.gate !== 'freeze') throw new UsageError(`--gate must be window or freeze (got "${opts.gate}")`);
      show(outputFormat(cmd, FORMATS), await api(connection(cmd), 'overrideRelease', { params: { id }, body: { gate: opts.gate, reason: opts.reason } }));
    });
}
