import { describe, expect, it } from 'vitest';
import { driftTable, formatAdopt } from './drift.ts';

const field = (over: Record<string, unknown>) => ({
  cluster: 'dev-1', instance: 'acme', app: 'appserver', ring: 'dev', release: 'r1', object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'acme', name: 'backend' },
  state: 'drifted', path: 'spec.template.spec.containers[name=backend].image', desired: 'appserver:1.0.0', live: 'appserver:1.0.1-hotfix',
  manager: 'kubectl-edit', operation: 'Update', changedAt: '2026-12-02T04:00:00Z', user: 'alice', userVerb: 'update', userAt: '2026-12-02T04:00:00.5Z',
  firstSeen: '2026-12-02T04:00:01Z', lastSeen: '2026-12-02T04:00:01Z', ...over,
}) as any;

describe('drift list', () => {
  it('prints one row per field with manager and user; a deleted object reads (missing)', () => {
    const out = driftTable([{ cluster: 'dev-1', instance: 'acme', app: 'appserver', ring: 'dev', release: 'r1', objects: 2, fields: [
      field({}),
      field({ object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'acme', name: 'config' }, state: 'missing', path: '', desired: undefined, live: undefined, manager: null, user: 'bob', userAt: null, changedAt: null }),
    ] }]);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^INSTANCE\s+CLUSTER\s+OBJECT\s+FIELD\s+DESIRED\s+LIVE\s+MANAGER\s+USER\s+CHANGED$/);
    expect(lines[1]).toMatch(/acme\s+dev-1\s+Deployment\/acme\/backend\s+spec\.template\.spec\.containers\[name=backend\]\.image\s+appserver:1\.0\.0\s+appserver:1\.0\.1-hotfix\s+kubectl-edit\s+alice/);
    expect(lines[2]).toMatch(/ConfigMap\/acme\/config\s+\(missing\)\s+-\s+-\s+-\s+bob\s+-/);
  });
});

describe('drift adopt', () => {
  it('says where each field went, then the plan, and what to do next', () => {
    const out = formatAdopt({
      instance: 'acme', cluster: 'dev-1', base: 'a'.repeat(40), commit: 'b'.repeat(40), branch: 'ringmaster/adopt/acme-bbbbbbbb', file: 'instances/all.yaml',
      changes: [
        { object: 'ConfigMap acme/config', path: 'data.LOG_LEVEL', desired: 'info', live: 'debug', layer: 'value', value: { path: 'logLevel', from: 'info', to: 'debug' } },
        { object: 'Deployment acme/backend', path: 'spec.replicas', desired: 1, live: 2, layer: 'patch', patch: { target: { kind: 'Deployment', name: 'backend' }, patch: { spec: { replicas: 2 } } } },
      ],
      skipped: [{ object: 'Service acme/web', path: '', reason: 'the object was deleted on the cluster' }],
      plan: {} as any, planText: 'Plan aaaaaaaaaaaa → bbbbbbbbbbbb\n',
    });
    expect(out.split('\n')).toEqual([
      'Adopted the live change of acme on dev-1: commit bbbbbbbbbbbb on branch ringmaster/adopt/acme-bbbbbbbb, based on aaaaaaaaaaaa, in instances/all.yaml',
      '  ConfigMap acme/config data.LOG_LEVEL: info → debug  (instance value logLevel)',
      '  Deployment acme/backend spec.replicas: 1 → 2  (instance patch)',
      '  not adopted: Service acme/web  — the object was deleted on the cluster',
      '',
      'Plan aaaaaaaaaaaa → bbbbbbbbbbbb',
      '',
      'Review and merge ringmaster/adopt/acme-bbbbbbbb, then release it; until then drift stays reported.',
    ]);
  });
});
