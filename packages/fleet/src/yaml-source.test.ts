import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseYamlFile, YAML_LIMITS } from './yaml-source.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples', 'fleet');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') && !dir.includes('templates') ? [join(dir, e.name)] : [],
  );
}

const data = (text: string) => {
  const r = parseYamlFile('t.yaml', text);
  expect(r.issues).toEqual([]);
  return r.docs.map((d) => d.data);
};
/** The positioned parser's reading of the same text (what manifests are compiled from). */
const positioned = (text: string) => parseYamlFile('t.yaml', text).docs.map((d) => d.doc.toJS({ maxAliasCount: -1 }));

// What kubectl and the API server (sigs.k8s.io/yaml → go-yaml v2) read for each plain scalar.
const KUBERNETES_READS: [string, unknown][] = [
  ['0755', 493],
  ['0644', 420],
  ['+0755', 493],
  ['0o17', 15],
  ['0O17', 15],
  ['0x1F', 31],
  ['-0x10', -16],
  ['0b101', 5],
  ['1_000', 1000],
  ['0_755', 493],
  ['08', 8],
  ['09.5', 9.5],
  ['1e3', 1000],
  ['.5', 0.5],
  ['-.5', -0.5],
  ['1.', 1],
  ['1e400', '1e400'],
  ['0x', '0x'],
  ['0o8', '0o8'],
  ['1:30', '1:30'],
  ['190:20:30', '190:20:30'],
  ['2024-01-01', '2024-01-01'],
  ['2001-12-14t21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00'],
  ['1.2.3', '1.2.3'],
  ['y', true],
  ['Y', true],
  ['yes', true],
  ['Yes', true],
  ['YES', true],
  ['on', true],
  ['ON', true],
  ['true', true],
  ['n', false],
  ['N', false],
  ['no', false],
  ['NO', false],
  ['off', false],
  ['Off', false],
  ['False', false],
  ['yES', 'yES'],
  ['oN', 'oN'],
  ['~', null],
  ['null', null],
  ['Null', null],
  ['nULL', 'nULL'],
  ['.inf', Infinity],
  ['-.Inf', -Infinity],
  ['+.INF', Infinity],
  ['_1', '_1'],
  ['=', '='],
];

describe('parseYamlFile reads YAML as Kubernetes does', () => {
  it.each(KUBERNETES_READS)('reads the plain scalar %j as %j', (text, expected) => {
    expect(data(`v: ${text}\n`)).toEqual([{ v: expected }]);
    expect(positioned(`v: ${text}\n`)).toEqual([{ v: expected }]);
  });

  it('keeps quoted and !!str scalars as strings', () => {
    expect(data('a: "0755"\nb: \'on\'\nc: !!str 0755\nd: !!int "0755"\n')).toEqual([{ a: '0755', b: 'on', c: '0755', d: 493 }]);
  });

  it('turns boolean and number keys into the strings kubectl sends', () => {
    expect(data('on: 1\n0755: 2\nn: 3\n')).toEqual([{ true: 1, 493: 2, false: 3 }]);
  });

  it('merges << keys as go-yaml does', () => {
    expect(data('base: &b {cpu: 1, mem: 2}\nx:\n  <<: *b\n  mem: 3\n')).toEqual([{ base: { cpu: 1, mem: 2 }, x: { cpu: 1, mem: 3 } }]);
  });

  it('reads every plain scalar alike in the fast parser and the positioned one', () => {
    const plain = fc.stringMatching(/^[-+.0-9a-zA-Z_:~][-+.0-9a-zA-Z_:]{0,7}$/).filter((s) => !s.endsWith(':') && s !== '-');
    fc.assert(
      fc.property(plain, (s) => {
        expect(positioned(`v: ${s}\n`)).toEqual(data(`v: ${s}\n`));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the same data as the positioned parser for every example file', () => {
    for (const path of yamlFiles(EXAMPLES)) {
      const text = readFileSync(path, 'utf8');
      const file = relative(EXAMPLES, path);
      const { docs } = parseYamlFile(file, text);
      expect(docs.map((d) => d.data), file).toEqual(docs.map((d) => d.doc.toJS()));
    }
  });

  it('reports syntax errors and duplicate keys at their position', () => {
    const dup = parseYamlFile('d.yaml', 'name: a\nname: b\n');
    expect(dup.issues).toHaveLength(1);
    expect(dup.issues[0]!.location).toMatchObject({ file: 'd.yaml', line: 2 });
    const bad = parseYamlFile('b.yaml', 'a: [1,\n');
    expect(bad.issues[0]!.code).toBe('yaml-syntax');
  });
});

/** A nine-level anchor chain: 9^9 ≈ 387 million leaves once expanded. */
function aliasBomb(indent = ''): string {
  const lines = [`${indent}a0: &a0 "lol"`];
  for (let i = 1; i <= 9; i++) lines.push(`${indent}a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

describe('parseYamlFile limits', () => {
  it('refuses an alias bomb at the alias that expands too far, without expanding it', () => {
    const r = parseYamlFile('bomb.yaml', 'kind: Instance\nvalues:\n' + aliasBomb('  '));
    expect(r.docs).toEqual([]);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ code: 'yaml-limit', location: { file: 'bomb.yaml' } });
    expect(r.issues[0]!.message).toMatch(/aliases are expanded/);
    expect(r.issues[0]!.location!.line).toBeGreaterThan(2);
  });

  it('accepts aliases that expand within the limit', () => {
    const [doc] = data('a: &a [1, 2]\nb: [*a, *a]\n') as { b: unknown }[];
    expect(doc!.b).toEqual([[1, 2], [1, 2]]);
  });

  it('refuses a 100 MB file before parsing it', () => {
    const text = 'values:\n  blob: "' + 'x'.repeat(100 * 1024 * 1024) + '"\n';
    const r = parseYamlFile('big.yaml', text);
    expect(r.issues).toEqual([expect.objectContaining({ code: 'yaml-limit', location: { file: 'big.yaml', line: 1, column: 1 } })]);
    expect(r.issues[0]!.message).toMatch(/more than the 64\.0 MiB/);
  });

  it('refuses a document bigger than the API server accepts, naming the line it starts on', () => {
    const text = 'a: 1\n---\nb: "' + 'x'.repeat(YAML_LIMITS.maxDocumentChars) + '"\n';
    const r = parseYamlFile('doc.yaml', text);
    expect(r.issues).toEqual([expect.objectContaining({ code: 'yaml-limit', location: { file: 'doc.yaml', line: 2, column: 1 } })]);
  });

  it('refuses nesting deeper than the limit, also when aliases make it deep', () => {
    const deep = parseYamlFile('deep.yaml', 'a: ' + '['.repeat(300) + ']'.repeat(300) + '\n');
    expect(deep.issues[0]).toMatchObject({ code: 'yaml-limit', location: { file: 'deep.yaml', line: 1 } });
    const level = '['.repeat(150) + ']'.repeat(150);
    const viaAlias = parseYamlFile('alias.yaml', `a: &a ${level}\nb: ${'['.repeat(150)}*a${']'.repeat(150)}\n`);
    expect(viaAlias.issues[0]).toMatchObject({ code: 'yaml-limit', location: { file: 'alias.yaml', line: 2 } });
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s anywhere, at its position', (key) => {
    const r = parseYamlFile('p.yaml', `values:\n  image:\n    ${key}:\n      polluted: yes\n`);
    expect(r.docs).toEqual([]);
    expect(r.issues).toEqual([expect.objectContaining({ code: 'unsafe-key', location: { file: 'p.yaml', line: 3, column: 5 } })]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
