import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXAMPLE_FLEET } from '../../fleet/test/helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'ringmaster.js');
const ringmaster = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const base = mkdtempSync(join(tmpdir(), 'ringmaster-cli-out-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('ringmaster render --out', () => {
  it('- prints the rendered objects to stdout as a YAML stream', () => {
    const r = ringmaster('render', '--repo', EXAMPLE_FLEET, '--instance', 'appserver-acme', '--out', '-');
    expect(r.status).toBe(0);
    const kinds = parseAllDocuments(r.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).toEqual(['Namespace', 'ConfigMap', 'AppCluster']);
  });

  it('refuses a folder that holds something else and exits 1, deleting nothing', () => {
    const repo = join(base, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    writeFileSync(join(repo, 'ringmaster.yaml'), 'kind: Fleet\n');
    const r = ringmaster('render', '--repo', EXAMPLE_FLEET, '--instance', 'appserver-acme', '--out', repo);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('was not written by ringmaster render');
    expect(readdirSync(repo).sort()).toEqual(['.git', 'ringmaster.yaml']);
  });
});
