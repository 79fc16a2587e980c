import { RingmasterError } from './errors.ts';
import { isUnsafeKey, UNSAFE_KEYS } from './keys.ts';
import type { NamedObject } from '@ringmaster/kube-common';

/** A patch could not be applied: a bad JSON 6902 op, a failed test, or a patch that matches no object. */
export class PatchError extends RingmasterError {
  /** Which patch of the list failed (set by applyPatches). */
  patchIndex?: number;
  /** Where inside that patch: e.g. ['ops', 2], ['target'], ['patch', 'spec', 'ports', 0] (a path in the fleet file). */
  path?: (string | number)[];
  constructor(message: string, options?: { cause?: unknown; path?: (string | number)[] }) {
    super('RINGMASTER_PATCH', message, options);
    if (options?.path) this.path = options.path;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Container = Json[] | { [k: string]: Json };

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Thrown inside one op, turned into a PatchError naming the op by the caller. */
class OpFailure extends Error {}

function isObj(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function cloneJson<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => cloneJson(x)) as T;
  if (isObj(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(out, k, cloneJson(v[k]));
    return out as T;
  }
  return v;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // `__proto__` is a legal JSON key; plain assignment would swap the prototype instead.
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 6901: `/a/b~1c/0` → ['a', 'b/c', '0']. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new OpFailure(`"${pointer}" is not a JSON pointer: it must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new OpFailure(`"${pointer}" has a bad escape: "~" must be followed by 0 (for ~) or 1 (for /)`);
      const token = t.replace(/~1/g, '/').replace(/~0/g, '~');
      if (isUnsafeKey(token)) throw new OpFailure(`"${pointer}" uses "${token}", which is not allowed ("${[...UNSAFE_KEYS].join('", "')}" reach JavaScript object internals)`);
      return token;
    });
}

function arrayIndex(arr: Json[], token: string, pointer: string, forInsert: boolean): number {
  if (token === '-' && forInsert) return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new OpFailure(`"${token}" in "${pointer}" is not a list index${forInsert ? ' (use "-" to append)' : ''}`);
  const i = Number(token);
  const max = forInsert ? arr.length : arr.length - 1;
  if (i > max) throw new OpFailure(`index ${i} in "${pointer}" is out of range: the list has ${arr.length} item${arr.length === 1 ? '' : 's'}`);
  return i;
}

/** Walks to the container holding the last token; every step must exist. */
function parentOf(doc: Json, tokens: string[], pointer: string): Container {
  let cur: Json = doc;
  for (let n = 0; n < tokens.length - 1; n++) {
    const t = tokens[n] as string;
    const here = '/' + tokens.slice(0, n + 1).join('/');
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, pointer, false)] as Json;
    else if (isObj(cur)) {
      if (!Object.hasOwn(cur, t)) throw new OpFailure(`path "${pointer}" does not exist: there is no "${t}" at "${here.slice(0, here.length - t.length - 1) || '/'}"`);
      cur = cur[t] as Json;
    } else throw new OpFailure(`path "${pointer}" goes through a ${typeOf(cur)} at "${here.slice(0, here.length - t.length - 1) || '/'}"`);
  }
  if (Array.isArray(cur) || isObj(cur)) return cur;
  throw new OpFailure(`path "${pointer}" goes through a ${typeOf(cur)}, not a map or list`);
}

function typeOf(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v;
}

function get(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, pointer, false)] as Json;
  if (!Object.hasOwn(parent, last)) throw new OpFailure(`path "${pointer}" does not exist`);
  return parent[last] as Json;
}

/** Returns the new document (the root itself may be replaced). */
function add(doc: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, true), 0, value);
  else setOwn(parent, last, value);
  return doc;
}

function remove(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new OpFailure('cannot remove the whole document');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, false), 1);
  else {
    if (!Object.hasOwn(parent, last)) throw new OpFailure(`path "${pointer}" does not exist`);
    delete parent[last];
  }
  return doc;
}

function field(op: Record<string, unknown>, name: 'path' | 'from'): string {
  const v = op[name];
  if (typeof v !== 'string') throw new OpFailure(`"${name}" must be a string JSON pointer such as "/spec/replicas"`);
  return v;
}

function valueOf(op: Record<string, unknown>): Json {
  if (!Object.hasOwn(op, 'value') || op.value === undefined) throw new OpFailure('"value" is missing');
  return cloneJson(op.value as Json);
}

function applyOne(doc: Json, op: Record<string, unknown>): Json {
  const kind = op.op;
  if (typeof kind !== 'string' || !OPS.has(kind)) throw new OpFailure(`"op" must be one of add, remove, replace, move, copy, test`);
  const path = field(op, 'path');
  switch (kind) {
    case 'add':
      return add(doc, path, valueOf(op));
    case 'remove':
      return remove(doc, path);
    case 'replace': {
      const value = valueOf(op);
      const tokens = parsePointer(path);
      if (tokens.length === 0) return value;
      // In place rather than remove+add, so a replaced key keeps its position in the rendered YAML.
      const parent = parentOf(doc, tokens, path);
      const last = tokens[tokens.length - 1] as string;
      if (Array.isArray(parent)) parent[arrayIndex(parent, last, path, false)] = value;
      else if (Object.hasOwn(parent, last)) setOwn(parent, last, value);
      else throw new OpFailure(`path "${path}" does not exist (use "add" to create it)`);
      return doc;
    }
    case 'move': {
      const from = field(op, 'from');
      if (from === path) {
        get(doc, from);
        return doc;
      }
      if (path.startsWith(from + '/')) throw new OpFailure(`cannot move "${from}" into its own child "${path}"`);
      const value = get(doc, from);
      return add(remove(doc, from), path, value);
    }
    case 'copy': {
      const from = field(op, 'from');
      return add(doc, path, cloneJson(get(doc, from)));
    }
    default: {
      const expected = valueOf(op);
      const actual = get(doc, path);
      if (!jsonEqual(actual, expected)) throw new OpFailure(`test failed: "${path}" is ${short(actual)}, expected ${short(expected)}`);
      return doc;
    }
  }
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/**
 * Applies an RFC 6902 JSON Patch and returns a new object; the input is never modified,
 * so a failing op leaves it as it was. Throws PatchError naming the op index, op, path and cause.
 */
export function applyJson6902(target: NamedObject, ops: unknown[]): NamedObject {
  if (!Array.isArray(ops)) throw new PatchError('a JSON 6902 patch must be a list of operations');
  let doc = cloneJson(target as unknown as Json);
  ops.forEach((raw, i) => {
    if (!isObj(raw)) throw new PatchError(`JSON patch op #${i}: must be a map such as {op: replace, path: /spec/replicas, value: 3}, got ${short(raw)}`, { path: [i] });
    try {
      doc = applyOne(doc, raw);
    } catch (e) {
      if (!(e instanceof OpFailure)) throw e;
      const opName = typeof raw.op === 'string' ? raw.op : '?';
      const path = typeof raw.path === 'string' ? raw.path : '?';
      throw new PatchError(`JSON patch op #${i} (${opName} ${path}): ${e.message}`, { path: [i] });
    }
  });
  if (!isObj(doc)) throw new PatchError(`JSON patch turned the object into a ${typeOf(doc)}; a Kubernetes object must stay a map`);
  return doc as unknown as NamedObject;
}
