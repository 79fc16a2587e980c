import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, OUTPUT_MARKER, renderFleet, renderedStream, writeRendered, type RenderedInstance } from '@ringmaster/fleet';
import { parseAllDocuments } from 'yaml';
import { EXAMPLE_FLEET } from './helpers.ts';

const base = mkdtempSync(join(tmpdir(), 'ringmaster-write-'));
let rendered: RenderedInstance[];
beforeAll(async () => {
  rendered = await renderFleet(await loadFleet(EXAMPLE_FLEET), ['appserver-acme']);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('writeRendered', () => {
  it('refuses a folder it did not write, deleting nothing (a clone with .git stays whole)', async () => {
    const clone = join(base, 'clone');
    mkdirSync(join(clone, '.git'), { recursive: true });
    writeFileSync(join(clone, 'README.md'), 'mine\n');
    await expect(writeRendered(clone, rendered)).rejects.toThrow(/will not write to .*clone: it is not empty and was not written by ringmaster render/);
    expect(readdirSync(clone).sort()).toEqual(['.git', 'README.md']);
    expect(readdirSync(base).filter((n) => n.startsWith('clone.'))).toEqual([]);
  });

  it('replaces its own earlier output, which it marks', async () => {
    const out = join(base, 'out');
    await writeRendered(out, rendered);
    expect(existsSync(join(out, OUTPUT_MARKER))).toBe(true);
    writeFileSync(join(out, 'stale.yaml'), 'x: 1\n');
    await writeRendered(out, rendered);
    expect(existsSync(join(out, 'stale.yaml'))).toBe(false);
    expect(readdirSync(join(out, 'dev-eu-1', 'appserver-acme')).length).toBe(rendered[0]!.objects.length);
  });

  it('writes into an empty folder, and refuses a file', async () => {
    const empty = join(base, 'empty');
    mkdirSync(empty);
    await writeRendered(empty, rendered);
    expect(existsSync(join(empty, OUTPUT_MARKER))).toBe(true);
    writeFileSync(join(base, 'file'), 'x');
    await expect(writeRendered(join(base, 'file'), rendered)).rejects.toThrow(/is a file/);
  });
});

describe('renderedStream', () => {
  it('prints every object as one YAML stream', () => {
    const docs = parseAllDocuments(renderedStream(rendered)).map((d) => d.toJS());
    expect(docs).toEqual(rendered[0]!.objects.map((o) => o.object));
  });
});
