import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { sortKeys, toYaml } from './serialize.ts';

const tricky = fc.constantFrom('', 'true', 'no', 'null', '~', '0x1F', '1e3', '.5', '-1', '08', 'a: b', 'a #b', '- x', '*ref', '&a', '!tag', '%x', '@x', '`x', '"q"', "'q'", 'x:', ' lead', 'trail ', 'multi\nline\n', 'multi\nline', 'tab\there', 'a\n\nb\n', 'a\n\n', '{}', '[]', '?', 'ü', 'emoji 🎉', '\u2028', 'yes', 'On', '=', '<<');
const str = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), tricky);
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 4 }),
  obj: fc.dictionary(str, tie('value'), { maxKeys: 4 }),
})).value;

describe('toYaml', () => {
  it('reads back as the same data for any JSON value', () => {
    fc.assert(
      fc.property(json, (v) => {
        const back = parse(toYaml(v), { version: '1.2' });
        expect(back).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 2000 },
    );
  });

  it('puts apiVersion, kind and metadata first and sorts the rest', () => {
    const text = toYaml(sortKeys({ spec: { b: 1, a: 2 }, metadata: { name: 'x' }, kind: 'ConfigMap', apiVersion: 'v1', data: {} }));
    expect(text).toBe('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {}\nspec:\n  a: 2\n  b: 1\n');
  });

  it('writes multi-line strings as literal blocks', () => {
    expect(toYaml({ data: { conf: 'a\n  b\n' } })).toBe('data:\n  conf: |\n    a\n      b\n');
  });
});
