import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySets, formatDryRun, formatLogLine, formatPreflight, parseSetExpression, parseValues, readValuesFile, requestChanges, scalarOf } from './request.ts';

describe('--set', () => {
  it('reads dotted paths and list indexes, several assignments separated by commas', () => {
    expect(parseSetExpression('a.b=1,list[2].name=x')).toEqual([
      { path: ['a', 'b'], raw: '1' },
      { path: ['list', 2, 'name'], raw: 'x' },
    ]);
  });

  it('keeps escaped commas in values and escaped dots in keys', () => {
    expect(parseSetExpression('hosts=a\\,b')).toEqual([{ path: ['hosts'], raw: 'a,b' }]);
    expect(parseSetExpression('annotations.example\\.com/owner=team=a')).toEqual([{ path: ['annotations', 'example.com/owner'], raw: 'team=a' }]);
  });

  it('parses each value as a YAML scalar, as helm does', () => {
    expect(scalarOf('3')).toBe(3);
    expect(scalarOf('true')).toBe(true);
    expect(scalarOf('null')).toBe(null);
    expect(scalarOf('"3"')).toBe('3');
    expect(scalarOf('')).toBe('');
    expect(scalarOf('debug')).toBe('debug');
    // not a scalar, or not one JSON can carry exactly: the text as it is
    expect(scalarOf('[1, 2]')).toBe('[1, 2]');
    expect(scalarOf('a: b')).toBe('a: b');
    expect(scalarOf('x # y')).toBe('x # y');
    expect(scalarOf('12345678901234567890')).toBe('12345678901234567890');
    expect(scalarOf('.inf')).toBe('.inf');
  });

  it('builds nested values over the --values file, the last assignment winning', () => {
    const values = applySets({ replicas: 1, db: { host: 'old' } }, ['db.host=db.local,db.port=5432', 'list[1]=b', 'replicas=3']);
    expect(values).toEqual({ replicas: 3, db: { host: 'db.local', port: 5432 }, list: [null, 'b'] });
  });

  it('refuses prototype keys anywhere in the path', () => {
    for (const expr of ['__proto__.polluted=1', 'a.constructor.prototype=1', 'a.prototype=1']) {
      expect(() => parseSetExpression(expr)).toThrow(/is not allowed/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses malformed assignments with a message that says how to write them', () => {
    expect(() => parseSetExpression('a')).toThrow('--set "a": "a" has no value');
    expect(() => parseSetExpression('a..b=1')).toThrow('a key of the path is empty');
    expect(() => parseSetExpression('=1')).toThrow('expected path=value');
    expect(() => parseSetExpression('[0]=1')).toThrow('the path must start with a key');
    expect(() => parseSetExpression('a[x]=1')).toThrow('a list index must be a number');
    expect(() => parseSetExpression('a[0]b=1')).toThrow('after a list index');
    expect(() => parseSetExpression('a=1,')).toThrow('an assignment is empty');
    expect(() => parseSetExpression('a[5000]=1')).toThrow('from 0 to 999');
  });
});

describe('--values', () => {
  it('reads YAML and JSON maps', () => {
    expect(parseValues('replicas: 3\ndb:\n  host: x\n', 'v.yaml')).toEqual({ replicas: 3, db: { host: 'x' } });
    expect(parseValues('{"replicas": 3}', 'v.json')).toEqual({ replicas: 3 });
    expect(parseValues('', 'empty.yaml')).toEqual({});
  });

  it('names the file, line and column of a mistake', () => {
    expect(() => parseValues('a: 1\na: 2\n', 'v.yaml')).toThrow(/^v\.yaml:2:1: /);
    expect(() => parseValues('- a\n- b\n', 'v.yaml')).toThrow('v.yaml:1:1: the values must be a map (key: value), not a list');
  });

  it('refuses prototype keys and alias bombs', () => {
    expect(() => parseValues('a:\n  __proto__:\n    polluted: 1\n', 'v.yaml')).toThrow('the key "__proto__" (at a.__proto__) is not allowed');
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    expect(() => parseValues(bomb, 'bomb.yaml')).toThrow(/^bomb\.yaml: /);
  });

  it('refuses a file over the size limit before parsing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-request-values-'));
    writeFileSync(join(dir, 'small.yaml'), 'a: 1\n');
    writeFileSync(join(dir, 'big.yaml'), `a: "${'x'.repeat(200)}"\n`);
    expect(await readValuesFile(join(dir, 'small.yaml'), 100)).toBe('a: 1\n');
    await expect(readValuesFile(join(dir, 'big.yaml'), 100)).rejects.toThrow('larger than 100 bytes');
    await expect(readValuesFile(join(dir, 'missing.yaml'))).rejects.toThrow('cannot read it (ENOENT)');
  });
});

describe('request views', () => {
  it('prints preflight checks and what a dry run would do', () => {
    expect(formatPreflight([{ check: 'cluster', ok: true, reason: 'eu-1 is known' }, { check: 'name', ok: false, reason: 'shop-eu-1 exists' }])).toEqual([
      '✓ cluster — eu-1 is known',
      '✗ name — shop-eu-1 exists',
    ]);
    const text = formatDryRun({
      order: ['commit', 'release', 'ready', 'dns'],
      fleetDiff: '--- a/x\n+++ b/x\n+name: shop\n',
      planText: null,
      objects: [{ action: 'create', kind: 'AppCluster', name: 'shop', namespace: 'shop' }],
      operations: [],
      outside: [{ step: 'dns', summary: 'A shop.example.net → the address of appserver-frontend' }],
    }, { diff: true });
    expect(text).toContain('In order: commit → release → ready → dns');
    expect(text).toContain('Outside steps:\n  dns — A shop.example.net → the address of appserver-frontend');
    expect(text).toContain('  create  AppCluster  shop  shop');
    expect(text).toContain('Fleet diff:\n--- a/x\n+++ b/x\n+name: shop');
  });

  it('prints a log line as HH:MM:SS step message (UTC)', () => {
    expect(formatLogLine({ at: '2026-12-01T10:02:03.456Z', step: 'commit', level: 'info', message: 'wrote abc' })).toBe('10:02:03 commit    wrote abc');
    expect(formatLogLine({ at: '2026-12-01T10:02:03.456Z', step: 'dns', level: 'error', message: 'REFUSED' })).toBe('10:02:03 dns       error: REFUSED');
  });

  it('tells what changed between two readings of a request', () => {
    const base = {
      id: 'q1', kind: 'provision', state: 'running', instance: 'shop', app: 'shop', ring: 'prod', cluster: 'eu-1', ticket: null, currentStep: 'commit',
      createdBy: 'alice', createdAt: '', finishedAt: null, reason: null, spec: { kind: 'provision', name: 'shop' }, approval: null, preflight: [],
      dryRun: { order: [], fleetDiff: null, planText: null, objects: [], operations: [], outside: [] },
      steps: [{ name: 'commit', state: 'running', attempts: 1, startedAt: null, finishedAt: null, message: null }],
      links: { commit: null, release: null, operation: null }, error: null, updatedAt: '',
    } as const;
    const next = { ...base, state: 'failed', error: 'push refused', steps: [{ ...base.steps[0], state: 'failed', attempts: 2, message: 'push refused' }] } as const;
    expect(requestChanges(base as never, next as never)).toEqual([
      'step commit: running → failed (attempt 2) (push refused)',
      'request q1: running → failed (push refused)',
    ]);
  });
});
