import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyJson6902, PatchError } from './patch-json6902.ts';
import type { NamedObject } from '@ringmaster/kube-common';

const deploy = (): NamedObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web', 'a/b': 'x', 'c~d': 'y' } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'web', image: 'web:1', args: ['--a'] }] } } },
});

function errorOf(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PatchError) return e;
    throw e;
  }
  throw new Error('expected a PatchError');
}

describe('applyJson6902', () => {
  it('applies add, remove, replace, move, copy and test', () => {
    const out = applyJson6902(deploy(), [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/template/spec/containers/0/args/-', value: '--b' },
      { op: 'add', path: '/spec/template/spec/containers/0/args/0', value: '--first' },
      { op: 'copy', from: '/spec/template/spec/containers/0', path: '/spec/template/spec/containers/-' },
      { op: 'replace', path: '/spec/template/spec/containers/1/name', value: 'sidecar' },
      { op: 'move', from: '/metadata/labels/app', path: '/metadata/labels/role' },
      { op: 'remove', path: '/metadata/labels/a~1b' },
      { op: 'replace', path: '/metadata/labels/c~0d', value: 'z' },
    ]);
    expect(out.spec).toEqual({
      replicas: 3,
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'web:1', args: ['--first', '--a', '--b'] },
            { name: 'sidecar', image: 'web:1', args: ['--first', '--a', '--b'] },
          ],
        },
      },
    });
    expect(out.metadata.labels).toEqual({ 'c~d': 'z', role: 'web' });
  });

  it('keeps the key position on replace', () => {
    const out = applyJson6902(deploy(), [{ op: 'replace', path: '/apiVersion', value: 'apps/v2' }]);
    expect(Object.keys(out)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  });

  it('returns a new object and never shares the op values', () => {
    const input = deploy();
    const value = { x: [1] };
    const out = applyJson6902(input, [{ op: 'add', path: '/data', value }]);
    value.x.push(2);
    expect(out.data).toEqual({ x: [1] });
    expect(input).toEqual(deploy());
    expect(out.metadata).not.toBe(input.metadata);
  });

  it('names the op index, op, path and cause when a path is missing', () => {
    const e = errorOf(() => applyJson6902(deploy(), [{ op: 'test', path: '/kind', value: 'Deployment' }, { op: 'replace', path: '/spec/strategy/type', value: 'Recreate' }]));
    expect(e.code).toBe('RINGMASTER_PATCH');
    expect(e.message).toBe('JSON patch op #1 (replace /spec/strategy/type): path "/spec/strategy/type" does not exist: there is no "strategy" at "/spec"');
  });

  it.each([
    [{ op: 'test', path: '/spec/replicas', value: 2 }, 'test failed: "/spec/replicas" is 1, expected 2'],
    [{ op: 'remove', path: '/spec/template/spec/containers/5' }, 'index 5 in "/spec/template/spec/containers/5" is out of range: the list has 1 item'],
    [{ op: 'add', path: '/spec/template/spec/containers/01', value: {} }, 'is not a list index'],
    [{ op: 'add', path: 'spec', value: 1 }, 'must be empty or start with "/"'],
    [{ op: 'add', path: '/a~2', value: 1 }, 'bad escape'],
    [{ op: 'add', path: '/kind/x', value: 1 }, 'goes through a string'],
    [{ op: 'add', path: '/x' }, '"value" is missing'],
    [{ op: 'replace', path: '/nope', value: 1 }, 'does not exist (use "add" to create it)'],
    [{ op: 'move', from: '/spec', path: '/spec/inner' }, 'cannot move "/spec" into its own child'],
    [{ op: 'copy', from: '/missing', path: '/x' }, 'path "/missing" does not exist'],
    [{ op: 'merge', path: '/x' }, '"op" must be one of'],
    [{ op: 'add', path: 3, value: 1 }, '"path" must be a string'],
    [{ op: 'remove', path: '' }, 'cannot remove the whole document'],
    [{ op: 'replace', path: '', value: [1] }, 'must stay a map'],
  ])('rejects %j', (op, why) => {
    const input = deploy();
    expect(errorOf(() => applyJson6902(input, [op])).message).toContain(why);
    expect(input).toEqual(deploy());
  });

  it('rejects an op that is not a map', () => {
    expect(errorOf(() => applyJson6902(deploy(), ['add'])).message).toContain('JSON patch op #0: must be a map');
  });

  it('treats "value: null" as a value, not as missing', () => {
    expect(applyJson6902(deploy(), [{ op: 'add', path: '/x', value: null }]).x).toBeNull();
  });
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function escape(t: string): string {
  return t.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Every pointer that exists in the document, the root's children and below. */
function pointers(v: Json, prefix = ''): string[] {
  const out: string[] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(`${prefix}/${i}`, ...pointers(x, `${prefix}/${i}`)));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(`${prefix}/${escape(k)}`, ...pointers(x, `${prefix}/${escape(k)}`));
  return out;
}

function containers(v: Json, prefix = ''): { ptr: string; node: Json[] | { [k: string]: Json } }[] {
  const out: { ptr: string; node: Json[] | { [k: string]: Json } }[] = [];
  if (Array.isArray(v)) {
    out.push({ ptr: prefix, node: v });
    v.forEach((x, i) => out.push(...containers(x, `${prefix}/${i}`)));
  } else if (v !== null && typeof v === 'object') {
    out.push({ ptr: prefix, node: v });
    for (const [k, x] of Object.entries(v)) out.push(...containers(x, `${prefix}/${escape(k)}`));
  }
  return out;
}

const keyArb = fc.constantFrom('a', 'b', 'a/b', 'm~n', '0', '-', '');
const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(keyArb, tie('v'), { maxKeys: 3 })),
})).v;
const docArb = fc.dictionary(keyArb, jsonArb, { maxKeys: 4 }).map((d) => ({ apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, ...d }) as NamedObject);

describe('applyJson6902 properties', () => {
  it('add then remove restores the document', () => {
    fc.assert(
      fc.property(docArb, fc.nat(), fc.nat(), jsonArb, (doc, pick, idx, value) => {
        const cs = containers(doc as unknown as Json);
        const c = cs[pick % cs.length]!;
        let ptr: string;
        if (Array.isArray(c.node)) ptr = `${c.ptr}/${idx % (c.node.length + 1)}`;
        else {
          let k = 'new';
          while (Object.hasOwn(c.node, k)) k += '_';
          ptr = `${c.ptr}/${escape(k)}`;
        }
        const out = applyJson6902(doc, [
          { op: 'add', path: ptr, value },
          { op: 'remove', path: ptr },
        ]);
        expect(out).toEqual(doc);
      }),
    );
  });

  it('replace of an existing path then test succeeds', () => {
    fc.assert(
      fc.property(docArb, fc.nat(), jsonArb, (doc, pick, value) => {
        const ps = pointers(doc as unknown as Json).filter((p) => p !== '');
        const path = ps[pick % ps.length]!;
        expect(() => applyJson6902(doc, [{ op: 'replace', path, value }, { op: 'test', path, value }])).not.toThrow();
      }),
    );
  });

  it('refuses prototype keys in a path (/metadata/__proto__/x) with a precise error, polluting nothing', () => {
    for (const path of ['/metadata/__proto__', '/metadata/__proto__/polluted', '/metadata/labels/constructor', '/spec/prototype']) {
      expect(() => applyJson6902(deploy(), [{ op: 'add', path, value: { polluted: true } }]), path).toThrow(/is not allowed/);
    }
    expect(() => applyJson6902(deploy(), [{ op: 'copy', from: '/metadata/__proto__', path: '/spec/x' }])).toThrow(/"__proto__", which is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('random op sequences throw only PatchError and never touch the input', () => {
    const ptrArb = (doc: NamedObject): fc.Arbitrary<string> =>
      fc.oneof(fc.constantFrom(...pointers(doc as unknown as Json), ''), fc.constantFrom('/a/-', '/zz', '/metadata/0', 'bad', '/a~', '/-'));
    const seqArb = docArb.chain((doc) =>
      fc.tuple(
        fc.constant(doc),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'), path: ptrArb(doc), from: ptrArb(doc), value: jsonArb }, { requiredKeys: ['op'] }),
            fc.anything(),
          ),
          { maxLength: 6 },
        ),
      ),
    );
    fc.assert(
      fc.property(seqArb, ([doc, ops]) => {
        const before = structuredClone(doc);
        try {
          applyJson6902(doc, ops);
        } catch (e) {
          expect(e).toBeInstanceOf(PatchError);
        }
        expect(doc).toEqual(before);
      }),
      { numRuns: 500 },
    );
  });
});
