import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { getPath, mergeValues } from './merge.ts';
import type { Value, Values } from './types.ts';

const key = fc.constantFrom('a', 'b', 'c', 'd', 'image', 'tag', '__proto__');
const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean());

const { values: valuesArb, valuesNoNull } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), tie('values')),
  values: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  // Keys m*/ hold maps and s* hold scalars or lists in every layer: once a layer changes a key's kind
  // (map over scalar over map), the result depends on grouping, so associativity only holds without that.
  leafNoNull: fc.oneof({ depthSize: 'small' }, scalar, fc.array(fc.oneof(scalar, tie('mapNoNull')), { maxLength: 3 })),
  valuesNoNull: fc.record(
    { m1: tie('mapNoNull'), m2: tie('mapNoNull'), s1: tie('leafNoNull'), s2: tie('leafNoNull') },
    { requiredKeys: [] },
  ),
  mapNoNull: fc.oneof({ depthSize: 'small', maxDepth: 3 }, fc.dictionary(fc.constantFrom('s1', 's2'), scalar, { maxKeys: 2 }), tie('valuesNoNull')),
})) as unknown as { values: fc.Arbitrary<Values>; valuesNoNull: fc.Arbitrary<Values> };

function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stripNulls(v: Values): Values {
  const out: Values = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue;
    Object.defineProperty(out, k, { value: isMap(x) ? stripNulls(x) : x, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Every mutable node reachable from a value, to prove the result aliases nothing. */
function nodes(v: Value, acc: Set<object> = new Set()): Set<object> {
  if (typeof v === 'object' && v !== null) {
    acc.add(v);
    for (const x of Object.values(v)) nodes(x as Value, acc);
  }
  return acc;
}

describe('mergeValues', () => {
  it('merges maps recursively, replaces lists and scalars, deletes on null', () => {
    const base: Values = { image: { repo: 'r', tag: '1' }, ports: [1, 2], replicas: 3, gone: { x: 1 } };
    const overlay: Values = { image: { tag: '2' }, ports: [3], replicas: 5, gone: null, extra: true };
    expect(mergeValues(base, overlay)).toEqual({ image: { repo: 'r', tag: '2' }, ports: [3], replicas: 5, extra: true });
  });

  it('replaces a scalar with a map and a map with a scalar', () => {
    expect(mergeValues({ a: 1, b: { c: 1 } }, { a: { x: 1 }, b: 'flat' })).toEqual({ a: { x: 1 }, b: 'flat' });
  });

  it('keeps the base key order and appends new keys', () => {
    expect(Object.keys(mergeValues({ a: 1, b: 2, c: 3 }, { d: 4, a: 9 }))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('drops nulls nested inside a map that the overlay brings in whole', () => {
    expect(mergeValues({}, { a: { b: null, c: 1 } })).toEqual({ a: { c: 1 } });
  });

  it('treats a __proto__ key as data, not as the prototype', () => {
    const overlay = JSON.parse('{"__proto__": {"polluted": true}}') as Values;
    const out = mergeValues({}, overlay);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('property: an empty overlay is the identity (and an empty base gives the overlay without nulls)', () => {
    fc.assert(
      fc.property(valuesArb, (v) => {
        expect(mergeValues(v, {})).toEqual(v);
        expect(mergeValues({}, v)).toEqual(stripNulls(v));
      }),
    );
  });

  it('property: merge is associative for maps without nulls', () => {
    fc.assert(
      fc.property(valuesNoNull, valuesNoNull, valuesNoNull, (a, b, c) => {
        expect(mergeValues(mergeValues(a, b), c)).toEqual(mergeValues(a, mergeValues(b, c)));
      }),
    );
  });

  it('property: every non-null overlay leaf is in the result and null deletes', () => {
    const check = (overlay: Values, out: Values): void => {
      for (const [k, o] of Object.entries(overlay)) {
        if (o === null) {
          expect(Object.hasOwn(out, k)).toBe(false);
        } else if (isMap(o)) {
          const r = out[k];
          expect(isMap(r)).toBe(true);
          check(o, r as Values);
        } else {
          expect(out[k]).toEqual(o);
        }
      }
    };
    fc.assert(fc.property(valuesArb, valuesArb, (base, overlay) => check(overlay, mergeValues(base, overlay))));
  });

  it('property: never mutates the inputs and shares no structure with them', () => {
    fc.assert(
      fc.property(valuesArb, valuesArb, (base, overlay) => {
        const b0 = structuredClone(base);
        const o0 = structuredClone(overlay);
        const out = mergeValues(base, overlay);
        expect(base).toEqual(b0);
        expect(overlay).toEqual(o0);
        const inputs = new Set([...nodes(base), ...nodes(overlay)]);
        for (const n of nodes(out)) expect(inputs.has(n)).toBe(false);
      }),
    );
  });
});

describe('getPath', () => {
  const v: Values = { image: { tag: 'v1' }, ports: [{ port: 80 }, { port: 443 }], zero: 0, nil: null };
  it('reads dotted paths and list indexes', () => {
    expect(getPath(v, 'image.tag')).toBe('v1');
    expect(getPath(v, 'ports.1.port')).toBe(443);
    expect(getPath(v, 'zero')).toBe(0);
    expect(getPath(v, 'nil')).toBeNull();
    expect(getPath(v, 'image')).toEqual({ tag: 'v1' });
  });
  it('returns undefined for missing paths', () => {
    expect(getPath(v, 'image.repo')).toBeUndefined();
    expect(getPath(v, 'ports.2.port')).toBeUndefined();
    expect(getPath(v, 'ports.x')).toBeUndefined();
    expect(getPath(v, 'image.tag.deeper')).toBeUndefined();
    expect(getPath(v, 'toString')).toBeUndefined();
  });
});

describe('prototype keys in values', () => {
  it('stay plain keys when merged and are never reached through the prototype by getPath', () => {
    const overlay = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"name": "x"}, "prototype": {"a": 1}}') as Values;
    const merged = mergeValues({ constructor: { prototype: 1 } } as unknown as Values, overlay);
    expect(Object.keys(merged).sort()).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(getPath({}, 'constructor')).toBeUndefined();
    expect(getPath({}, '__proto__.polluted')).toBeUndefined();
    expect(getPath({ a: {} }, 'a.constructor.name')).toBeUndefined();
  });
});
