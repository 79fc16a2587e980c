import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFleetFile, parseYamlFile } from './yaml-source.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples', 'fleet');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') && !dir.includes('templates') ? [join(dir, e.name)] : [],
  );
}

describe('parseFleetFile', () => {
  it('reads the same data as the positioned parser for every example file', () => {
    for (const path of yamlFiles(EXAMPLES)) {
      const text = readFileSync(path, 'utf8');
      const file = relative(EXAMPLES, path);
      const fast = parseFleetFile(file, text);
      const full = parseYamlFile(file, text);
      expect(fast.docs.map((d) => d.data), file).toEqual(full.docs.map((d) => d.data));
      expect(fast.docs.map((d) => d.location), file).toEqual(full.docs.map((d) => d.location));
    }
  });

  it('agrees on YAML 1.2 core scalars (no YAML 1.1 booleans, octals or timestamps)', () => {
    const text = 'a: yes\nb: 0777\nc: 2024-01-01\nd: 0o17\ne: ~\nf: .inf\ng: "08"\nh: 1_000\ni: on\n---\n~\n---\nx: 1\n';
    expect(parseFleetFile('t.yaml', text).docs.map((d) => d.data)).toEqual(parseYamlFile('t.yaml', text).docs.map((d) => d.data));
  });

  it('falls back to the positioned parser for syntax errors and duplicate keys', () => {
    const dup = parseFleetFile('d.yaml', 'name: a\nname: b\n');
    expect(dup.issues).toHaveLength(1);
    expect(dup.issues[0]!.location).toMatchObject({ file: 'd.yaml', line: 2 });
    const bad = parseFleetFile('b.yaml', 'a: [1,\n');
    expect(bad.issues[0]!.code).toBe('yaml-syntax');
  });
});
