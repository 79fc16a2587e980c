import { mkdtempSync, appendFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLogReader, parseAuditLine } from './audit.ts';

const line = (o: Record<string, unknown>) => JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete', requestURI: '/apis/apps/v1/namespaces/shop/deployments/web', responseStatus: { code: 200 }, ...o });
const patch = (user: string, time: string, extra: Record<string, unknown> = {}) => line({
  verb: 'patch', user: { username: user, groups: ['editors'] }, objectRef: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', apiVersion: 'v1' },
  stageTimestamp: time, userAgent: 'kubectl/v1.31.0', ...extra,
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('audit log', () => {
  it('reads a write with its user, verb, object and time, and ignores reads, failures, dry runs and other stages', () => {
    expect(parseAuditLine(patch('alice', '2026-01-01T10:00:00.5Z'))).toEqual({
      user: 'alice', groups: ['editors'], verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web', time: '2026-01-01T10:00:00.5Z', userAgent: 'kubectl/v1.31.0', code: 200,
    });
    expect(parseAuditLine(patch('alice', 't', { verb: 'get' }))).toBeUndefined();
    expect(parseAuditLine(patch('alice', 't', { stage: 'ResponseStarted' }))).toBeUndefined();
    expect(parseAuditLine(patch('alice', 't', { responseStatus: { code: 409 } }))).toBeUndefined();
    expect(parseAuditLine(patch('alice', 't', { requestURI: '/apis/apps/v1/namespaces/shop/deployments/web?dryRun=All' }))).toBeUndefined();
    expect(parseAuditLine('{"kind":"Event", torn')).toBeUndefined();
    expect(parseAuditLine(patch('system:admin', 't', { impersonatedUser: { username: 'bob' } }))?.user).toBe('bob');
  });

  it('follows the file as it grows, skips the given users, and starts over after a rotation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-audit-'));
    dirs.push(dir);
    const path = join(dir, 'audit.log');
    const reader = new AuditLogReader(path);
    const web = { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' };
    expect(reader.latestWrite(web)).toBeUndefined();
    writeFileSync(path, patch('alice', 't1') + '\n' + patch('ringmaster-admin', 't2') + '\n' + patch('bob', 't3').slice(0, 20));
    expect(reader.latestWrite(web)?.user).toBe('ringmaster-admin');
    expect(reader.latestWrite(web, { exceptUsers: ['ringmaster-admin'] })).toMatchObject({ user: 'alice', time: 't1' });
    // the torn line completes later
    appendFileSync(path, patch('bob', 't3').slice(20) + '\n');
    expect(reader.latestWrite(web)).toMatchObject({ user: 'bob', time: 't3' });
    expect(reader.latestWrite({ ...web, name: 'other' })).toBeUndefined();
    appendFileSync(path, patch('system:serviceaccount:kube-system:deployment-controller', 't3b', { verb: 'update', objectRef: { resource: 'deployments', namespace: 'shop', name: 'web', apiGroup: 'apps', subresource: 'status' } }) + '\n');
    expect(reader.latestWrite(web)).toMatchObject({ user: 'bob' });
    renameSync(path, path + '.1');
    writeFileSync(path, patch('carol', 't4') + '\n');
    expect(reader.latestWrite(web)).toMatchObject({ user: 'carol' });
  });
});
