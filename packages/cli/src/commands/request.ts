import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { isMap, isScalar, LineCounter, parseDocument, stringify } from 'yaml';
import { isUnsafeKey } from '@ringmaster/fleet';
import type { OperationType } from '@ringmaster/operator';
import type { CreateRequestInput, DryRun, LogLine, PreflightCheck, RequestKind, RequestState, RequestSummary, RequestView } from '@ringmaster/api';
import { api, clientOptions, connection, outputFormat, type Connection } from '../client.ts';
import { colorEnabled } from '../color.ts';
import { UsageError } from '../errors.ts';
import { table, writeMachine, type OutputFormat } from '../output.ts';

// `request create|list|show|approve|reject|cancel|logs`: provision, operate and decommission
// requests on the control plane (docs/requests.md). A request is checked (preflight), previewed
// (dry run), approved by a person or a ticket, then run step by step by the server.

const FORMATS: OutputFormat[] = ['table', 'json', 'yaml'];

// Written out here (the CLI imports only types from the server and the operator, which take a
// second to load); the Records make the compiler check that every state and type is listed.
const STATE_NAMES: Record<RequestState, true> = { dry_run: true, awaiting_approval: true, running: true, succeeded: true, failed: true, rejected: true, cancelled: true };
const KIND_NAMES: Record<RequestKind, true> = { provision: true, operate: true, decommission: true };
const OPERATION_NAMES: Record<OperationType, true> = { rebuildCache: true, copyCache: true, restartNode: true, setTraffic: true, upgradeNode: true, stopNode: true, startNode: true };
/** The states `request list --state` offers (dry runs are never stored). */
export const LISTED_STATES = (Object.keys(STATE_NAMES) as RequestState[]).filter((s) => s !== 'dry_run');
export const KINDS = Object.keys(KIND_NAMES) as RequestKind[];
export const OPERATIONS = Object.keys(OPERATION_NAMES) as OperationType[];
/** States after which a request changes no more (the server's REQUEST_TERMINAL). */
export const TERMINAL: ReadonlySet<RequestState> = new Set<RequestState>(['succeeded', 'failed', 'rejected', 'cancelled']);

/** The largest --values file accepted. */
export const MAX_VALUES_BYTES = 1024 * 1024;
/** Aliases a --values file may use (YAML anchors expanded beyond this are refused). */
const MAX_ALIASES = 20;
/** The server's bounds on values: nesting depth and number of values. */
const MAX_DEPTH = 16;
const MAX_VALUES = 2000;
/** The largest list index a --set path may name. */
const MAX_INDEX = 999;
/** The longest line the log stream may send. */
const MAX_LOG_LINE = 1024 * 1024;

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------
// --values and --set

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses prototype keys, deep nesting and too many values anywhere in `values` (`source` names where they came from). */
function checkValues(values: unknown, source: string): void {
  let count = 0;
  const walk = (node: unknown, path: string, depth: number): void => {
    if (++count > MAX_VALUES) throw new UsageError(`${source}: holds more than ${MAX_VALUES} values`);
    if (depth > MAX_DEPTH) throw new UsageError(`${source}: ${path} is nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(node)) node.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    else if (isObject(node)) {
      for (const [k, x] of Object.entries(node)) {
        const at = path ? `${path}.${k}` : k;
        if (isUnsafeKey(k)) throw new UsageError(`${source}: the key "${k}" (at ${at}) is not allowed (__proto__, constructor and prototype are reserved)`);
        walk(x, at, depth + 1);
      }
    }
  };
  walk(values, '', 0);
}

/**
 * Parses the text of a --values file, YAML or JSON (JSON is YAML): one document whose top is a
 * map, at most 20 aliases, no prototype keys. Errors name the file, line and column.
 */
export function parseValues(text: string, source: string): Record<string, unknown> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const { line, col } = lines.linePos(e.pos[0]);
    throw new UsageError(`${source}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    const { line, col } = lines.linePos(doc.contents.range?.[0] ?? 0);
    throw new UsageError(`${source}:${line}:${col}: the values must be a map (key: value), not ${isScalar(doc.contents) ? 'a single value' : 'a list'}`);
  }
  let values: unknown;
  try {
    values = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new UsageError(`${source}: ${(err as Error).message} (at most ${MAX_ALIASES} aliases)`);
  }
  checkValues(values, source);
  return values as Record<string, unknown>;
}

/** Reads a --values file (or stdin for "-"), refusing one larger than 1 MiB. */
export async function readValuesFile(file: string, limit = MAX_VALUES_BYTES): Promise<string> {
  const tooLarge = () => new UsageError(`--values ${file}: larger than ${limit} bytes (1 MiB); keep the values of one instance small`);
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        process.stdin.destroy();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new UsageError(`--values ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UsageError(`--values ${file}: not a file`);
    if (stat.size > limit) throw tooLarge();
    // read at most one byte more than allowed, whatever the size said: the file may grow meanwhile
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > limit) throw tooLarge();
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The value of a --set assignment, as helm reads it: a YAML scalar (`3` a number, `true` a
 * boolean, `null` null, `"3"` the string 3), anything else — a list, a map, a comment, a number
 * JSON cannot carry exactly — the text as it is.
 */
export function scalarOf(raw: string): unknown {
  if (raw === '') return '';
  if (raw.includes('\n')) return raw;
  const doc = parseDocument(raw);
  const node = doc.contents;
  if (doc.errors.length || doc.warnings.length || !isScalar(node) || doc.comment || doc.commentBefore || node.comment || node.commentBefore || node.anchor) return raw;
  const v = node.value;
  if (typeof v === 'number' && (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))) return raw;
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return raw;
}

type Segment = string | number;

/** Splits `text` at the commas that are not escaped with a backslash (escapes are kept). */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + text[++i];
    } else if (ch === sep) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** The index of the first `=` not escaped with a backslash, or -1. */
function unescapedEquals(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '=') return i;
  }
  return -1;
}

/** The path of a --set assignment: keys separated by ".", list indexes in brackets (`a.b[0].c`); `\.`, `\=`, `\[` escape. */
function parsePath(key: string, where: (what: string) => string): Segment[] {
  const path: Segment[] = [];
  let cur = '';
  let reading = false; // a key is being read (it may not stay empty)
  let afterIndex = false;
  const pushKey = () => {
    if (cur === '') throw new UsageError(where('a key of the path is empty (write a.b.c=value)'));
    if (isUnsafeKey(cur)) throw new UsageError(where(`the key "${cur}" is not allowed (__proto__, constructor and prototype are reserved)`));
    path.push(cur);
    cur = '';
    reading = false;
  };
  for (let i = 0; i < key.length; i++) {
    const ch = key[i]!;
    if (ch === '.') {
      if (afterIndex) afterIndex = false;
      else pushKey();
      reading = true;
    } else if (ch === '[') {
      if (reading) pushKey();
      else if (path.length === 0) throw new UsageError(where('the path must start with a key (write list[0]=value)'));
      const close = key.indexOf(']', i);
      const digits = close < 0 ? '' : key.slice(i + 1, close);
      if (!/^\d{1,4}$/.test(digits) || Number(digits) > MAX_INDEX) throw new UsageError(where(`a list index must be a number from 0 to ${MAX_INDEX} in brackets (write list[0]=value)`));
      path.push(Number(digits));
      i = close;
      afterIndex = true;
    } else if (afterIndex) {
      throw new UsageError(where('write "." or "[" after a list index (list[0].key=value)'));
    } else {
      cur += ch === '\\' && i + 1 < key.length ? key[++i] : ch;
      reading = true;
    }
  }
  if (reading) pushKey();
  if (path.length === 0) throw new UsageError(where('expected path=value'));
  if (path.length > MAX_DEPTH) throw new UsageError(where(`the path is deeper than ${MAX_DEPTH} levels`));
  return path;
}

/**
 * Splits a --set argument into assignments, as helm does: `a.b=1,c[0]=x` sets a.b and c[0].
 * `\,` is a comma and `\\` a backslash inside a value; `\.`, `\=`, `\[`, `\,` escape those characters in a key.
 */
export function parseSetExpression(expr: string): Array<{ path: Segment[]; raw: string }> {
  const where = (what: string) => `--set "${expr}": ${what}`;
  return splitUnescaped(expr, ',').map((part) => {
    if (part === '') throw new UsageError(where('an assignment is empty (write path=value; escape a comma inside a value as "\\,")'));
    const eq = unescapedEquals(part);
    if (eq < 0) throw new UsageError(where(`"${part}" has no value (write path=value; escape a comma inside a value as "\\,")`));
    const path = parsePath(part.slice(0, eq), where);
    const raw = part.slice(eq + 1).replace(/\\([,\\])/g, '$1');
    return { path, raw };
  });
}

/** Sets `value` at `path` in `root`, creating maps and lists on the way; what was there is replaced (the last --set wins). */
export function setPath(root: Record<string, unknown>, path: Segment[], value: unknown): void {
  let cur: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    const fresh = () => (typeof path[i + 1] === 'number' ? [] : {});
    const fits = (v: unknown) => (typeof path[i + 1] === 'number' ? Array.isArray(v) : isObject(v));
    if (typeof seg === 'number') {
      const list = cur as unknown[];
      while (list.length < seg) list.push(null);
      if (last) list[seg] = value;
      else {
        if (!fits(list[seg])) list[seg] = fresh();
        cur = list[seg] as Record<string, unknown> | unknown[];
      }
    } else {
      const map = cur as Record<string, unknown>;
      if (last) map[seg] = value;
      else {
        if (!Object.hasOwn(map, seg) || !fits(map[seg])) map[seg] = fresh();
        cur = map[seg] as Record<string, unknown> | unknown[];
      }
    }
  }
}

/** Applies every --set argument, in order, to `values` (which it changes and returns). */
export function applySets(values: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  for (const expr of sets) for (const { path, raw } of parseSetExpression(expr)) setPath(values, path, scalarOf(raw));
  checkValues(values, 'the values');
  return values;
}

// ---------------------------------------------------------------------------------------------
// views

type Paint = (code: string, s: string) => string;
const painter = (on: boolean): Paint => (code, s) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
const noPaint: Paint = (_code, s) => s;

const STATE_COLOR: Partial<Record<RequestState, string>> = { succeeded: '32', failed: '31', rejected: '31', cancelled: '33', running: '36', awaiting_approval: '33' };
const stateWord = (s: RequestState, paint: Paint) => paint(STATE_COLOR[s] ?? '0', s);
const clock = (iso: string | null | undefined): string => {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(11, 19);
};
const duration = (from: string | null, to: string | null): string => {
  if (!from) return '';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  if (!(ms >= 0)) return '';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};
const indent = (text: string, by = '  ') => text.split('\n').map((l) => (l ? by + l : l)).join('\n');
const oneLine = (s: string, max = 100) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The preflight checks, one a line: `✓ name — reason`. */
export function formatPreflight(checks: PreflightCheck[], paint: Paint = noPaint): string[] {
  return checks.map((c) => `${c.ok ? paint('32', '✓') : paint('31', '✗')} ${c.check} — ${c.reason}`);
}

/** A unified diff, coloured on a terminal. */
export function formatDiff(diff: string, paint: Paint = noPaint): string {
  return diff.replace(/\n$/, '').split('\n').map((l) => {
    if (l.startsWith('+++') || l.startsWith('---')) return paint('1', l);
    if (l.startsWith('+')) return paint('32', l);
    if (l.startsWith('-')) return paint('31', l);
    if (l.startsWith('@@')) return paint('36', l);
    return l;
  }).join('\n');
}

/** What a request does, in order: the steps, the operations, what happens outside the cluster, the objects, the fleet diff. */
export function formatDryRun(d: DryRun, opts: { diff: boolean; paint?: Paint }): string {
  const paint = opts.paint ?? noPaint;
  // one line when it fits, else one step a line, each after its arrow
  const oneLineOrder = `In order: ${d.order.length ? d.order.join(' → ') : '(nothing to do)'}`;
  const out = [oneLineOrder.length <= 100 ? oneLineOrder : [`In order: ${d.order[0]}`, ...d.order.slice(1).map((o) => `  → ${o}`)].join('\n')];
  if (d.operations.length) out.push('', 'Operations:', ...d.operations.map((o) => `  ${o.type}${o.node ? ` ${o.node}` : ''} — ${o.summary}`));
  if (d.outside.length) out.push('', 'Outside steps:', ...d.outside.map((o) => `  ${o.step} — ${o.summary}`));
  if (d.objects.length) {
    out.push('', 'Objects:', indent(table(['ACTION', 'KIND', 'NAME', 'NAMESPACE', 'NOTE'], d.objects.map((o) => [o.action, o.kind, o.name, o.namespace ?? '', o.note ?? '']))));
  }
  if (opts.diff) {
    out.push('', d.fleetDiff ? `Fleet diff:\n${formatDiff(d.fleetDiff, paint)}` : 'Fleet diff: none (the request writes nothing to the fleet repo)');
  }
  return out.join('\n');
}

function approvalLine(r: RequestView): string | null {
  const a = r.approval;
  if (a) return `approval: ${a.state} by ${a.by} (${a.via === 'ticket' ? 'ticket' : 'person'}) at ${a.at}${a.comment ? ` — ${oneLine(a.comment)}` : ''}`;
  if (r.state === 'awaiting_approval') return `approval: waiting for an approver other than ${r.createdBy} (ringmaster request approve ${r.id})${r.ticket ? ` or for ticket ${r.ticket}` : ''}`;
  return null;
}

/** The human view of a request: facts, approval, preflight, steps, then what it does (and the fleet diff with `diff`). */
export function formatRequest(r: RequestView, opts: { diff?: boolean; paint?: Paint } = {}): string {
  const paint = opts.paint ?? noPaint;
  const head = [
    `request ${r.id}  ${r.kind} ${r.instance}  ${stateWord(r.state, paint)}${r.currentStep && !TERMINAL.has(r.state) ? ` (step ${r.currentStep})` : ''}`,
    `app ${r.app || '-'}  ring ${r.ring ?? '-'}  cluster ${r.cluster || '-'}  ticket ${r.ticket ?? '-'}`,
    `created by ${r.createdBy} at ${r.createdAt}${r.finishedAt ? `  finished at ${r.finishedAt}` : ''}`,
  ];
  if (r.reason) head.push(`reason: ${oneLine(r.reason, 200)}`);
  const approval = approvalLine(r);
  if (approval) head.push(approval);
  if (r.error) head.push(paint('31', `error: ${r.error}`));
  const links = [['commit', r.links.commit ? r.links.commit.slice(0, 12) : null], ['release', r.links.release], ['operation', r.links.operation]].filter(([, v]) => v);
  if (links.length) head.push(`links: ${links.map(([k, v]) => `${k} ${v}`).join('  ')}`);
  const out = [head.join('\n')];
  if (r.preflight.length) out.push(`Preflight:\n${indent(formatPreflight(r.preflight, paint).join('\n'))}`);
  if (r.steps.length) {
    out.push(`Steps:\n${indent(table(['STEP', 'STATE', 'ATTEMPTS', 'STARTED', 'TOOK', 'MESSAGE'], r.steps.map((s) => [
      s.name, s.state, String(s.attempts), clock(s.startedAt), duration(s.startedAt, s.finishedAt), oneLine(s.message ?? ''),
    ])))}`);
  }
  out.push(formatDryRun(r.dryRun, { diff: opts.diff === true, paint }));
  return out.join('\n\n');
}

/** The answer to `create --dry-run`: preflight, then what the request would do, the fleet diff included. */
export function formatDryRunAnswer(r: RequestView, paint: Paint = noPaint): string {
  const where = [r.app && `app ${r.app}`, r.ring && `ring ${r.ring}`, r.cluster && `cluster ${r.cluster}`].filter(Boolean).join(', ');
  const failed = r.preflight.filter((c) => !c.ok).length;
  const out = [
    `dry run of ${r.kind} ${r.instance}${where ? ` (${where})` : ''}: nothing was written`,
    ...(r.preflight.length ? ['', 'Preflight:', indent(formatPreflight(r.preflight, paint).join('\n'))] : []),
    '',
    formatDryRun(r.dryRun, { diff: true, paint }),
    '',
    failed ? paint('31', `${failed} preflight check${failed === 1 ? '' : 's'} failed: the request would be refused`) : 'create it: the same command without --dry-run',
  ];
  return out.join('\n');
}

const stepWord = (s: RequestView['steps'][number]) => `${s.state}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}`;

/** What changed between two readings of a request, one line per change (steps, approval, then the request itself). */
export function requestChanges(prev: RequestView, next: RequestView): string[] {
  const lines: string[] = [];
  const a = approvalLine(prev);
  const b = approvalLine(next);
  if (next.approval && a !== b) lines.push(b!);
  for (const s of next.steps) {
    const o = prev.steps.find((p) => p.name === s.name);
    const x = o ? stepWord(o) : 'absent';
    const y = stepWord(s);
    if (x !== y) lines.push(`step ${s.name}: ${x} → ${y}${s.message && s.message !== o?.message ? ` (${oneLine(s.message)})` : ''}`);
  }
  if (prev.state !== next.state) lines.push(`request ${next.id}: ${prev.state} → ${next.state}${next.error && next.error !== prev.error ? ` (${oneLine(next.error)})` : ''}`);
  return lines;
}

/** `HH:MM:SS step message` (UTC), warnings and errors marked. */
export function formatLogLine(l: LogLine, paint: Paint = noPaint): string {
  const level = l.level === 'error' ? paint('31', 'error: ') : l.level === 'warn' ? paint('33', 'warning: ') : '';
  return `${clock(l.at)} ${l.step.padEnd(9)} ${level}${l.message}`;
}

export function listTable(requests: RequestSummary[]): string {
  return table(['ID', 'KIND', 'STATE', 'INSTANCE', 'APP', 'RING', 'CLUSTER', 'STEP', 'TICKET', 'CREATED BY', 'CREATED'],
    requests.map((r) => [r.id, r.kind, r.state, r.instance, r.app || '-', r.ring ?? '-', r.cluster || '-', r.currentStep ?? '-', r.ticket ?? '-', r.createdBy, r.createdAt]));
}

// ---------------------------------------------------------------------------------------------
// talking to the server

function positiveInteger(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be a whole number from 1 to ${max} (got "${value}")`);
  return n;
}

/** The preflight checks of a create its preflight refused (`error.details.preflight`), if that is what the error is. */
function preflightOf(err: unknown): PreflightCheck[] | null {
  const checks = (err as { details?: { preflight?: unknown } })?.details?.preflight;
  return Array.isArray(checks) ? (checks as PreflightCheck[]) : null;
}

/** Errors worth waiting through while following a request: the server restarting or briefly unavailable. */
const transient = (err: unknown): boolean => {
  const e = err as { code?: string; status?: number };
  return e?.code === 'RINGMASTER_UNREACHABLE' || e?.status === 502 || e?.status === 503 || e?.status === 504;
};

interface WatchOptions {
  format: OutputFormat;
  paint: Paint;
  diff: boolean;
  timeoutSeconds: number;
  /** The view already in hand (after create): printed first, then followed. */
  first?: RequestView;
}

/**
 * Follows a request until it is finished, reading it every second, for at most `timeoutSeconds`
 * (then null). On a terminal the view is redrawn; otherwise (a CI log, a pipe) it is printed once,
 * then one timestamped line per change. JSON prints one line per reading that changed.
 */
async function watchRequest(conn: Connection, id: string, opts: WatchOptions): Promise<RequestView | null> {
  const tty = process.stdout.isTTY === true;
  const until = Date.now() + opts.timeoutSeconds * 1000;
  let prev: RequestView | undefined;
  let next: RequestView | undefined = opts.first;
  let lost = false;
  for (;;) {
    if (!next) {
      try {
        next = await api(conn, 'getRequest', { params: { id } });
        if (lost) process.stderr.write(`the server at ${conn.server} answers again\n`);
        lost = false;
      } catch (err) {
        if (!transient(err)) throw err;
        if (!lost) process.stderr.write(`${(err as Error).message}; trying again every second\n`);
        lost = true;
      }
    }
    if (next) {
      const rel = next;
      const changes = prev ? requestChanges(prev, rel) : [];
      const changed = !prev || changes.length > 0 || JSON.stringify(prev) !== JSON.stringify(rel);
      if (opts.format === 'table' && tty) {
        if (changed) process.stdout.write('\x1b[2J\x1b[H' + formatRequest(rel, { diff: opts.diff, paint: opts.paint }) + '\n');
      } else if (opts.format === 'table' && !prev) process.stdout.write(formatRequest(rel, { diff: opts.diff, paint: opts.paint }) + '\n');
      else if (opts.format === 'table') for (const line of changes) process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
      else if (changed && opts.format === 'json') process.stdout.write(JSON.stringify(rel) + '\n');
      else if (changed) {
        process.stdout.write('---\n');
        writeMachine('yaml', rel);
      }
      if (TERMINAL.has(rel.state)) return rel;
      prev = rel;
      next = undefined;
    }
    if (Date.now() + 1000 > until) return null;
    await sleep(1000);
  }
}

/** Sets the exit code of a --watch: 0 when the request succeeded, 1 when it ended otherwise or the wait gave up. */
function watchVerdict(id: string, final: RequestView | null, timeoutSeconds: number): void {
  if (final === null) {
    process.stderr.write(`gave up waiting after ${timeoutSeconds} s; the request goes on (ringmaster request show ${id} --watch)\n`);
    process.exitCode = 1;
  } else if (final.state !== 'succeeded') process.exitCode = 1;
}

/** Reads an NDJSON body, calling `each` per line as it arrives; a line that is not JSON is an error. */
async function readNdjson(body: ReadableStream<Uint8Array>, each: (line: LogLine) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const take = (text: string) => {
    const t = text.trim();
    if (!t) return; // a keep-alive
    let line: LogLine;
    try {
      line = JSON.parse(t) as LogLine;
    } catch {
      throw Object.assign(new Error(`the log stream sent a line that is not JSON: ${oneLine(t, 80)}`), { code: 'RINGMASTER_HTTP', protocol: true });
    }
    each(line);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        take(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (buf.length > MAX_LOG_LINE) throw Object.assign(new Error(`the log stream sent a line longer than ${MAX_LOG_LINE} bytes`), { code: 'RINGMASTER_HTTP', protocol: true });
    }
    take(buf + decoder.decode());
  } finally {
    reader.releaseLock();
  }
}

/** The error a non-2xx answer of the log stream carries, in the server's one error shape when it sent it. */
async function streamError(conn: Connection, path: string, res: Response): Promise<Error> {
  let e: { code?: string; message?: string } | undefined;
  try {
    e = (JSON.parse(await res.text()) as { error?: { code?: string; message?: string } }).error;
  } catch {
    // not the error shape: the status says it
  }
  return Object.assign(new Error(e?.message ?? `${conn.server} answered GET /api/v1${path} with HTTP ${res.status}`), { code: e?.code ?? 'RINGMASTER_HTTP', status: res.status });
}

const logKey = (l: LogLine) => `${l.at}\u0000${l.step}\u0000${l.level}\u0000${l.message}`;

/**
 * Follows the log of a request (GET …/logs?follow=true, NDJSON) until the request ends. A stream
 * that breaks first (a server restart, an idle connection closed) is opened again, and the lines
 * it sends again are not printed twice. Gives up after 60 reconnections that brought nothing new.
 */
async function followLogs(conn: Connection, id: string, each: (line: LogLine) => void): Promise<void> {
  // the usual errors (no token, unknown request, unreachable server) before anything streams
  await api(conn, 'getRequest', { params: { id } });
  const path = `/requests/${enc(id)}/logs?follow=true`;
  const printed = new Map<string, number>();
  let idle = 0;
  for (;;) {
    const replay = new Map(printed);
    let fresh = false;
    const take = (l: LogLine) => {
      const k = logKey(l);
      const n = replay.get(k) ?? 0;
      if (n > 0) {
        replay.set(k, n - 1);
        return;
      }
      printed.set(k, (printed.get(k) ?? 0) + 1);
      fresh = true;
      each(l);
    };
    let broke: unknown;
    try {
      const res = await fetch(`${conn.server}/api/v1${path}`, { headers: { authorization: `Bearer ${conn.token}`, accept: 'application/x-ndjson' } });
      if (!res.ok) throw await streamError(conn, path, res);
      if (!(res.headers.get('content-type') ?? '').includes('ndjson')) {
        // a server that answers the whole log at once
        for (const l of ((await res.json()) as { lines: LogLine[] }).lines) take(l);
        return;
      }
      await readNdjson(res.body!, take);
    } catch (err) {
      const e = err as { protocol?: boolean; status?: number };
      if (e.protocol || (e.status !== undefined && !transient(err))) throw err;
      broke = err;
    }
    // the stream ended: when the request did, so does the log
    try {
      const r = await api(conn, 'getRequest', { params: { id } });
      if (TERMINAL.has(r.state) && broke === undefined) return;
    } catch (err) {
      if (!transient(err)) throw err;
      broke ??= err;
    }
    idle = fresh ? 0 : idle + 1;
    if (idle > 60) throw Object.assign(new Error(`the log stream of request ${id} keeps ending early${broke ? ` (${(broke as Error).message})` : ''}; see ringmaster request logs ${id}`), { code: 'RINGMASTER_HTTP' });
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// commands

interface CommonCreate {
  ticket?: string;
  reason?: string;
  dryRun?: boolean;
  watch?: boolean;
  timeout: string;
}

function createOptions(cmd: Command): Command {
  return clientOptions(cmd
    .option('--ticket <id>', 'the change ticket, e.g. CHG-2041: its approval approves the request, and each step is reported to it')
    .option('--reason <text>', 'why (kept with the request and in the audit trail)')
    .option('--dry-run', 'run the preflight checks and show what the request would do; create nothing')
    .option('-w, --watch', 'follow the request until it ends: exit 0 when it succeeded, 1 when it failed, was rejected or cancelled')
    .option('--timeout <seconds>', 'with --watch: give up after this many seconds (exit 1; the request goes on)', '3600'));
}

const WATCH_MAX_SECONDS = 7 * 24 * 3600;

async function create(cmd: Command, opts: CommonCreate, body: Record<string, unknown>): Promise<void> {
  const format = outputFormat(cmd, FORMATS);
  if (opts.watch && opts.dryRun) throw new UsageError('--watch follows a created request, and --dry-run creates none: drop one of them');
  const timeoutSeconds = positiveInteger('--timeout', opts.timeout, WATCH_MAX_SECONDS);
  const conn = connection(cmd);
  const full = { ...body, ...(opts.ticket ? { ticket: opts.ticket } : {}), ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.dryRun ? { dryRun: true } : {}) };
  let r: RequestView;
  try {
    r = await api(conn, 'createRequest', { body: full as CreateRequestInput });
  } catch (err) {
    const checks = preflightOf(err);
    // the checks first, then (from main) the error itself
    if (checks?.length) process.stderr.write(`preflight:\n${indent(formatPreflight(checks, painter(colorEnabled(cmd, process.stderr))).join('\n'))}\n`);
    throw err;
  }
  const paint = painter(colorEnabled(cmd));
  if (opts.dryRun) {
    if (!writeMachine(format, r)) process.stdout.write(formatDryRunAnswer(r, paint) + '\n');
    if (r.preflight.some((c) => !c.ok)) process.exitCode = 1;
    return;
  }
  if (!opts.watch) {
    if (!writeMachine(format, r)) process.stdout.write(formatRequest(r, { paint }) + '\n');
    return;
  }
  watchVerdict(r.id, await watchRequest(conn, r.id, { format, paint, diff: false, timeoutSeconds, first: r }), timeoutSeconds);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `request create|list|show|approve|reject|cancel|logs`: provision, operate and decommission requests on the control plane. */
export function registerRequestCommands(program: Command): void {
  const request = program.command('request').description('provision, operate and decommission instances through approved requests (talks to `ringmaster serve`; see docs/requests.md)');
  const createGroup = request.command('create').description('create a request: checked, previewed, then run step by step once approved');

  createOptions(createGroup.command('provision')
    .description('a new instance of an app on a cluster: fleet commit, release, wait until ready, DNS record, ticket')
    .argument('<name>', 'the new instance (a DNS-1123 label)')
    .requiredOption('--app <app>', 'the app of the instance')
    .requiredOption('--cluster <cluster>', 'the cluster it goes to')
    .option('--values <file>', 'instance values, YAML or JSON (at most 1 MiB; "-" reads stdin)')
    .option('--set <path=value>', 'set one value, as helm does: a.b=c, list[0]=x, several separated by "," (repeatable; wins over --values)', collect))
    .action(async (name: string, opts: CommonCreate & { app: string; cluster: string; values?: string; set?: string[] }, cmd: Command) => {
      let values: Record<string, unknown> | undefined;
      if (opts.values !== undefined) values = parseValues(await readValuesFile(opts.values), opts.values === '-' ? '(stdin)' : opts.values);
      if (opts.set?.length) values = applySets(values ?? {}, opts.set);
      await create(cmd, opts, { kind: 'provision', name, app: opts.app, cluster: opts.cluster, ...(values ? { values } : {}) });
    });

  createOptions(createGroup.command('operate')
    .description('a NodeOperation on an existing instance (restart, upgrade, traffic, cache …), then the ticket')
    .argument('<name>', 'the instance')
    .addOption(new Option('--type <type>', 'the operation').choices(OPERATIONS).makeOptionMandatory())
    .option('--node <node>', 'the node (node operations), <role>-<ordinal>')
    .option('--image <image>', 'upgradeNode: the new image')
    .addOption(new Option('--traffic <state>', 'setTraffic: serving | dark').choices(['serving', 'dark']))
    .option('--source-app-cluster <name>', 'copyCache: the AppCluster whose cache is copied'))
    .action(async (name: string, opts: CommonCreate & { type: OperationType; node?: string; image?: string; traffic?: 'serving' | 'dark'; sourceAppCluster?: string }, cmd: Command) => {
      const operation = {
        type: opts.type, ...(opts.node ? { node: opts.node } : {}), ...(opts.image ? { image: opts.image } : {}),
        ...(opts.traffic ? { traffic: opts.traffic } : {}), ...(opts.sourceAppCluster ? { source: { appCluster: opts.sourceAppCluster } } : {}),
      };
      await create(cmd, opts, { kind: 'operate', name, operation });
    });

  createOptions(createGroup.command('decommission')
    .description('remove an instance: DNS record, fleet commit, release, volumes (kept unless --delete-volumes), ticket')
    .argument('<name>', 'the instance')
    .option('--delete-volumes', 'delete the data volumes too (default: they are kept)'))
    .action(async (name: string, opts: CommonCreate & { deleteVolumes?: boolean }, cmd: Command) => {
      await create(cmd, opts, { kind: 'decommission', name, ...(opts.deleteVolumes ? { keepVolumes: false } : {}) });
    });

  clientOptions(request.command('list')
    .description('list requests, newest first')
    .addOption(new Option('--state <state>', 'only requests in this state').choices(LISTED_STATES))
    .addOption(new Option('--kind <kind>', 'only requests of this kind').choices(KINDS))
    .option('--instance <name>', 'only requests for this instance')
    .option('--limit <n>', 'requests to list (at most 500)', '50'))
    .action(async (opts: { state?: string; kind?: string; instance?: string; limit: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const query = { limit: positiveInteger('--limit', opts.limit, 500), state: opts.state as RequestState | undefined, kind: opts.kind as RequestKind | undefined, instance: opts.instance };
      const res = await api(connection(cmd), 'listRequests', { query });
      if (!writeMachine(format, res)) process.stdout.write(res.requests.length ? listTable(res.requests) + '\n' : 'no requests\n');
    });

  clientOptions(request.command('show')
    .description('show a request: facts, approval, preflight, steps and what it does; --watch follows it until it ends')
    .argument('<id>', 'request id')
    .option('--diff', 'also print the fleet diff (the change to the instance file)')
    .option('-w, --watch', 'follow the request until it ends, reading it every second: exit 0 when it succeeded, 1 when it failed, was rejected or cancelled')
    .option('--timeout <seconds>', 'with --watch: give up after this many seconds (exit 1; the request goes on)', '3600'))
    .action(async (id: string, opts: { diff?: boolean; watch?: boolean; timeout: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const timeoutSeconds = positiveInteger('--timeout', opts.timeout, WATCH_MAX_SECONDS);
      const conn = connection(cmd);
      const paint = painter(colorEnabled(cmd));
      if (!opts.watch) {
        const r = await api(conn, 'getRequest', { params: { id } });
        if (!writeMachine(format, r)) process.stdout.write(formatRequest(r, { diff: opts.diff, paint }) + '\n');
        return;
      }
      watchVerdict(id, await watchRequest(conn, id, { format, paint, diff: opts.diff === true, timeoutSeconds }), timeoutSeconds);
    });

  for (const [name, description] of [
    ['approve', 'approve a request waiting for approval; it runs at once (needs the approver role for its app and ring)'],
    ['reject', 'reject a request waiting for approval; nothing of it runs (needs the approver role for its app and ring)'],
  ] as const) {
    clientOptions(request.command(name).description(description).argument('<id>', 'request id').option('--comment <text>', 'kept with the decision'))
      .action(async (id: string, opts: { comment?: string }, cmd: Command) => {
        const format = outputFormat(cmd, FORMATS);
        const r = await api(connection(cmd), name === 'approve' ? 'approveRequest' : 'rejectRequest', { params: { id }, body: opts.comment ? { comment: opts.comment } : {} });
        if (!writeMachine(format, r)) process.stdout.write(formatRequest(r, { paint: painter(colorEnabled(cmd)) }) + '\n');
      });
  }

  clientOptions(request.command('cancel')
    .description('cancel a request that waits for approval or runs: the step in flight finishes, no later step starts')
    .argument('<id>', 'request id')
    .option('--reason <text>', 'why (kept with the request and in the audit trail)'))
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const r = await api(connection(cmd), 'cancelRequest', { params: { id }, body: opts.reason ? { reason: opts.reason } : {} });
      if (!writeMachine(format, r)) process.stdout.write(formatRequest(r, { paint: painter(colorEnabled(cmd)) }) + '\n');
    });

  clientOptions(request.command('logs')
    .description('print the log of a request: HH:MM:SS (UTC) step message; -f follows it until the request ends')
    .argument('<id>', 'request id')
    .option('-f, --follow', 'print lines as they come, until the request ends'))
    .action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
      const format = outputFormat(cmd, FORMATS);
      const conn = connection(cmd);
      const paint = painter(colorEnabled(cmd));
      if (!opts.follow) {
        const res = await api(conn, 'requestLogs', { params: { id } });
        if (!writeMachine(format, res)) process.stdout.write(res.lines.map((l) => formatLogLine(l, paint) + '\n').join(''));
        return;
      }
      await followLogs(conn, id, (l) => {
        if (format === 'json') process.stdout.write(JSON.stringify(l) + '\n');
        else if (format === 'yaml') process.stdout.write('---\n' + stringify(l));
        else process.stdout.write(formatLogLine(l, paint) + '\n');
      });
    });
}
