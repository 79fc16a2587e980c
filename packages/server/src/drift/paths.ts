import { isUnsafeKey } from '@ringmaster/fleet';

/**
 * One step of a field path in the kube package's notation (`spec.template.spec.containers[name=web].image`,
 * `metadata.labels["a.b/c"]`, `spec.ports[port=80,protocol=TCP]`, `spec.finalizers[=x]`, `args[2]`).
 */
export type PathSegment =
  | { field: string }
  | { key: Record<string, string> }
  | { value: string }
  | { index: number };

/** Splits a field path into segments; undefined when it is not one (or names a prototype key). Pure. */
export function parseFieldPath(path: string): PathSegment[] | undefined {
  const out: PathSegment[] = [];
  let i = 0;
  const plain = /^[A-Za-z_$][\w$-]*/;
  while (i < path.length) {
    const ch = path[i]!;
    if (ch === '.') {
      i++;
      continue;
    }
    if (ch === '[') {
      if (path[i + 1] === '"') {
        // a JSON string up to the matching quote
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        if (path[j + 1] !== ']') return undefined;
        let name: string;
        try {
          name = JSON.parse(path.slice(i + 1, j + 1)) as string;
        } catch {
          return undefined;
        }
        out.push({ field: name });
        i = j + 2;
        continue;
      }
      const end = path.indexOf(']', i);
      if (end < 0) return undefined;
      const inner = path.slice(i + 1, end);
      i = end + 1;
      if (/^\d+$/.test(inner)) out.push({ index: Number(inner) });
      else if (inner.startsWith('=')) out.push({ value: inner.slice(1) });
      else {
        const key: Record<string, string> = {};
        for (const part of inner.split(',')) {
          const eq = part.indexOf('=');
          if (eq <= 0) return undefined;
          key[part.slice(0, eq)] = part.slice(eq + 1);
        }
        out.push({ key });
      }
      continue;
    }
    const m = plain.exec(path.slice(i));
    if (!m) return undefined;
    out.push({ field: m[0] });
    i += m[0].length;
  }
  if (out.some((s) => ('field' in s && isUnsafeKey(s.field)) || ('key' in s && Object.keys(s.key).some(isUnsafeKey)))) return undefined;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const scalarText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The index in `list` that a segment names (key match, set value, index), or -1. Pure. */
export function indexOf(list: unknown[], seg: PathSegment): number {
  if ('index' in seg) return seg.index < list.length ? seg.index : -1;
  if ('value' in seg) return list.findIndex((v) => scalarText(v) === seg.value);
  if ('key' in seg) return list.findIndex((item) => isObject(item) && Object.entries(seg.key).every(([k, v]) => Object.hasOwn(item, k) && scalarText(item[k]) === v));
  return -1;
}

/** The value at a field path of a JSON document (undefined when absent). Pure. */
export function valueAt(doc: unknown, segments: PathSegment[]): unknown {
  let node: unknown = doc;
  for (const seg of segments) {
    if ('field' in seg) {
      if (!isObject(node) || !Object.hasOwn(node, seg.field)) return undefined;
      node = node[seg.field];
    } else {
      if (!Array.isArray(node)) return undefined;
      const i = indexOf(node, seg);
      if (i < 0) return undefined;
      node = node[i];
    }
  }
  return node;
}

/** The RFC 6901 pointer of a field path resolved against a document (list items by their index). Pure. */
export function pointerOf(doc: unknown, segments: PathSegment[]): string[] | undefined {
  const out: string[] = [];
  let node: unknown = doc;
  for (const seg of segments) {
    if ('field' in seg) {
      out.push(seg.field);
      node = isObject(node) ? node[seg.field] : undefined;
    } else {
      if (!Array.isArray(node)) return undefined;
      const i = indexOf(node, seg);
      if (i < 0) return undefined;
      out.push(String(i));
      node = node[i];
    }
  }
  return out;
}

/** Splits an RFC 6901 pointer into its unescaped tokens. Pure. */
export function pointerTokens(pointer: string): string[] {
  return pointer.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Whether a JSON pointer covers a field (the field itself or something under it). The field is
 * resolved against `doc` so list items can be named by index; "*" matches any one token.
 */
export function pointerCovers(pointer: string, doc: unknown, segments: PathSegment[]): boolean {
  const tokens = pointerTokens(pointer);
  const resolved = pointerOf(doc, segments);
  if (!resolved || tokens.length > resolved.length) return false;
  return tokens.every((t, i) => t === '*' || t === resolved[i]);
}
