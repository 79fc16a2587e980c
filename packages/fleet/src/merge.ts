import type { Value, Values } from './types.ts';

function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Plain assignment of `__proto__` would change the prototype instead of adding a key (a YAML file may hold that key). */
function setKey(obj: Values, key: string, value: Value): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Deep copy of a values tree, so results never alias caller-owned structure. */
export function cloneValue<T extends Value>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneValue(x)) as T;
  if (isMap(v)) {
    const out: Values = {};
    for (const k of Object.keys(v)) setKey(out, k, cloneValue(v[k] as Value));
    return out as T;
  }
  return v;
}

/** Null leaves mean "delete" only at merge time; a null inside a map that is copied in whole must not survive. */
function cloneWithoutNulls(v: Value): Value {
  if (Array.isArray(v)) return v.map((x) => cloneValue(x));
  if (isMap(v)) {
    const out: Values = {};
    for (const k of Object.keys(v)) {
      const x = v[k] as Value;
      if (x !== null) setKey(out, k, cloneWithoutNulls(x));
    }
    return out;
  }
  return v;
}

/**
 * Merges one layer of values over another: maps merge recursively, lists and scalars replace,
 * `null` in the overlay deletes the key. Pure: the result shares no mutable structure with the inputs.
 */
export function mergeValues(base: Values, overlay: Values): Values {
  // Keys keep the base's order, new keys follow in the overlay's order: rendered output stays stable.
  const out: Values = {};
  for (const k of Object.keys(base)) {
    const b = base[k] as Value;
    if (!Object.hasOwn(overlay, k)) {
      setKey(out, k, cloneValue(b));
      continue;
    }
    const o = overlay[k] as Value;
    if (o === null) continue;
    setKey(out, k, isMap(o) && isMap(b) ? mergeValues(b, o) : cloneWithoutNulls(o));
  }
  for (const k of Object.keys(overlay)) {
    if (Object.hasOwn(base, k)) continue;
    const o = overlay[k] as Value;
    if (o !== null) setKey(out, k, cloneWithoutNulls(o));
  }
  return out;
}

/**
 * Reads a dotted path (`image.tag`, `ports.0.port`: numeric segments index lists).
 * Returns undefined when any segment is missing.
 */
export function getPath(values: Values, path: string): Value | undefined {
  if (path === '') return values;
  let cur: Value | undefined = values;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(seg)) return undefined;
      const i = Number(seg);
      if (i >= cur.length) return undefined;
      cur = cur[i];
    } else if (isMap(cur)) {
      if (!Object.hasOwn(cur, seg)) return undefined;
      cur = cur[seg];
    } else {
      return undefined;
    }
  }
  return cur;
}
