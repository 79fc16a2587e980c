/**
 * Deterministic YAML for rendered objects. A purpose-built emitter for plain JSON data: rendering
 * writes tens of thousands of objects and a general YAML library spends most of that time on
 * features rendered manifests never use (comments, anchors, tags). Output reads back to the same data
 * both as Kubernetes reads YAML (YAML 1.1 scalars, yaml-schema.ts) and as a YAML 1.2 parser does (a
 * property test checks both).
 */
import { plainIsNotString } from './yaml-schema.ts';

const TOP_ORDER = ['apiVersion', 'kind', 'metadata'];

/** Orders keys: apiVersion, kind, metadata first at the top level, everything else alphabetically. */
export function sortKeys(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, false));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // defineProperty: a "__proto__" key from elsewhere must stay a key, not replace the copy's prototype.
  for (const k of keysOf(obj, top)) Object.defineProperty(out, k, { value: sortKeys(obj[k], false), enumerable: true, writable: true, configurable: true });
  return out;
}

// Plain scalars are safe when they cannot be read as anything but this string: not by Kubernetes
// (plainIsNotString: "0755", "on", "y") and not by a YAML 1.2 or 1.1 reader (AMBIGUOUS: "1:30", "0o17").
const PLAIN_SAFE = /^[A-Za-z0-9_/$][A-Za-z0-9_ ./:=$@+(),-]*$/;
const AMBIGUOUS = /^(true|false|yes|no|on|off|y|n|null|~|[-+]?(\.inf|\.nan)|[-+]?[0-9][0-9_.eE:+-]*|0x[0-9a-fA-F]+|0o[0-7]+)$/i;

function scalar(s: string): string {
  if (
    s !== '' &&
    PLAIN_SAFE.test(s) &&
    !AMBIGUOUS.test(s) &&
    !plainIsNotString(s) &&
    !s.endsWith(' ') &&
    !s.endsWith(':') &&
    !s.includes(': ') &&
    !s.includes(' #')
  ) {
    return s;
  }
  return JSON.stringify(s);
}

function key(k: string): string {
  return scalar(k);
}

function isBlockString(s: string): boolean {
  // Literal blocks keep multi-line text (scripts, config files) readable in diffs.
  return s.includes('\n') && !s.endsWith('\n\n') && !/[\x00-\x09\x0b-\x1f\x7f\r]/.test(s) && !/[ \t]\n/.test(s) && !/^\s/.test(s);
}

function block(s: string, indent: string): string {
  const chomp = s.endsWith('\n') ? '' : '-';
  const body = s.endsWith('\n') ? s.slice(0, -1) : s;
  const lines = body.split('\n').map((l) => (l === '' ? '' : indent + l));
  return `|${chomp}\n${lines.join('\n')}`;
}

function num(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? '.nan' : n > 0 ? '.inf' : '-.inf';
  return String(n);
}

function keysOf(obj: Record<string, unknown>, top: boolean): string[] {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  keys.sort((a, b) => {
    if (top) {
      const ia = TOP_ORDER.indexOf(a);
      const ib = TOP_ORDER.indexOf(b);
      if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return keys;
}

let sorting = false;

function emit(value: unknown, indent: string, out: string[], inList: boolean, top = false): void {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(' []\n');
      return;
    }
    if (!inList) out.push('\n');
    value.forEach((item, i) => {
      if (!(inList && i === 0)) out.push(indent);
      out.push('-');
      if (item !== null && typeof item === 'object' && !(Array.isArray(item) && item.length === 0) && !(!Array.isArray(item) && Object.keys(item).length === 0)) {
        out.push(' ');
        emit(item, indent + '  ', out, true);
      } else {
        emitScalar(item, indent + '  ', out);
      }
    });
    return;
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const entries: [string, unknown][] = sorting ? keysOf(obj, top).map((k) => [k, obj[k]]) : Object.entries(obj).filter(([, v]) => v !== undefined);
    if (entries.length === 0) {
      out.push(' {}\n');
      return;
    }
    if (!inList) out.push('\n');
    entries.forEach(([k, v], i) => {
      if (!(inList && i === 0)) out.push(indent);
      out.push(key(k), ':');
      if (v !== null && typeof v === 'object') emit(v, Array.isArray(v) ? indent : indent + '  ', out, false);
      else emitScalar(v, indent + '  ', out);
    });
    return;
  }
  emitScalar(value, indent, out);
}

function emitScalar(v: unknown, indent: string, out: string[]): void {
  if (v === null || v === undefined) out.push(' null\n');
  else if (typeof v === 'string') out.push(' ', isBlockString(v) ? block(v, indent) : scalar(v), '\n');
  else if (typeof v === 'number') out.push(' ', num(v), '\n');
  else if (typeof v === 'boolean') out.push(v ? ' true\n' : ' false\n');
  else if (Array.isArray(v)) out.push(' []\n');
  else if (typeof v === 'object') out.push(' {}\n');
  else out.push(' ', JSON.stringify(String(v)), '\n');
}

/**
 * Serializes plain JSON data as deterministic YAML. Keys keep their order, or with `sort` are
 * ordered as sortKeys would order them (without copying the data).
 */
export function toYaml(value: unknown, opts: { sort?: boolean } = {}): string {
  if (value === null || typeof value !== 'object') {
    const out: string[] = [];
    emitScalar(value, '', out);
    return out.join('').slice(1);
  }
  const out: string[] = [];
  sorting = opts.sort === true;
  try {
    emit(value, '', out, false, true);
  } finally {
    sorting = false;
  }
  return out.join('').replace(/^\n/, '');
}
