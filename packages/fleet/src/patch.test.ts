import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { applyPatches, parseLabelSelector } from './patch.ts';
import { PatchError } from './patch-json6902.ts';
import type { NamedObject } from '@ringmaster/kube-common';

const objects = (): NamedObject[] => [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'backend', namespace: 'shop', labels: { role: 'backend', tier: 'app' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'app', image: 'backend:1' }] } } },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'frontend', namespace: 'shop', labels: { role: 'frontend', tier: 'app' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'app', image: 'frontend:1' }] } } },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'synchronizer', namespace: 'shop', labels: { role: 'synchronizer' } },
    spec: { replicas: 3 },
  },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { a: '1' } },
];

function byName(list: NamedObject[], name: string): NamedObject {
  const o = list.find((x) => x.metadata.name === name);
  if (!o) throw new Error(`no ${name}`);
  return o;
}

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PatchError) return e;
    throw e;
  }
  throw new Error('expected a PatchError');
}

describe('applyPatches', () => {
  it('applies a strategic merge patch that names its object in the body, as Kustomize does', () => {
    const input = objects();
    const out = applyPatches(input, [{ patch: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'backend', namespace: 'shop' }, spec: { replicas: 4 } } }]);
    expect((byName(out, 'backend').spec as { replicas: number }).replicas).toBe(4);
    expect((byName(out, 'frontend').spec as { replicas: number }).replicas).toBe(1);
    expect(input).toEqual(objects());
    expect(byName(out, 'frontend')).toBe(byName(input, 'frontend'));
  });

  it('reads a YAML string patch, and a YAML list string as JSON 6902 ops', () => {
    const out = applyPatches(objects(), [
      { target: { kind: 'Deployment', name: 'frontend' }, patch: 'spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: frontend:2\n' },
      { target: { kind: 'ConfigMap' }, patch: '- op: add\n  path: /data/b\n  value: "2"\n' },
    ]);
    expect(JSON.stringify(byName(out, 'frontend'))).toContain('frontend:2');
    expect(byName(out, 'settings').data).toEqual({ a: '1', b: '2' });
  });

  it('reads a YAML string patch as Kubernetes reads YAML: 0755 is 493, on is true, "0755" stays a string', () => {
    const [cm] = applyPatches(objects(), [{ target: { kind: 'ConfigMap' }, patch: 'data:\n  mode: 0755\n  flag: on\n  quoted: "0755"\n' }]).filter((o) => o.kind === 'ConfigMap');
    expect(cm!.data).toMatchObject({ mode: 493, flag: true, quoted: '0755' });
  });

  it('selects by regex name, group, version, namespace and label selector', () => {
    const out = applyPatches(objects(), [
      { target: { group: 'apps', version: 'v1', namespace: 'shop', name: '.*end', labelSelector: 'tier=app,role in (frontend, backend),!legacy' }, patch: { metadata: { annotations: { patched: 'yes' } } } },
    ]);
    expect(out.filter((o) => o.metadata.annotations?.patched === 'yes').map((o) => o.metadata.name)).toEqual(['backend', 'frontend']);
  });

  it('anchors name patterns so "end" does not match "backend"', () => {
    const e = patchError(() => applyPatches(objects(), [{ target: { name: 'end' }, patch: { metadata: { labels: { x: 'y' } } } }]));
    expect(e.message).toContain('target name=end');
  });

  it('applies JSON 6902 ops to every selected object', () => {
    const out = applyPatches(objects(), [{ target: { kind: 'Deployment', labelSelector: 'role!=backend' }, ops: [{ op: 'replace', path: '/spec/replicas', value: 2 }] }]);
    expect((byName(out, 'frontend').spec as { replicas: number }).replicas).toBe(2);
    expect((byName(out, 'backend').spec as { replicas: number }).replicas).toBe(1);
  });

  it('can rename through JSON 6902, but a strategic merge body only selects', () => {
    const out = applyPatches(objects(), [
      { target: { kind: 'ConfigMap', name: 'settings' }, ops: [{ op: 'replace', path: '/metadata/name', value: 'settings-eu' }] },
      { target: { kind: 'StatefulSet' }, patch: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'other' }, spec: { replicas: 5 } } },
    ]);
    expect(out.map((o) => o.metadata.name)).toEqual(['backend', 'frontend', 'synchronizer', 'settings-eu']);
    expect(byName(out, 'synchronizer').spec).toEqual({ replicas: 5 });
  });

  it('keeps identity even when the patch replaces the whole object', () => {
    const out = applyPatches(objects(), [{ target: { kind: 'ConfigMap' }, patch: { $patch: 'replace', data: { only: 'this' } } }]);
    expect(byName(out, 'settings')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { only: 'this' } });
  });

  it('deletes the selected objects with a top-level $patch: delete', () => {
    const out = applyPatches(objects(), [{ patch: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, $patch: 'delete' } }]);
    expect(out.map((o) => o.metadata.name)).toEqual(['backend', 'frontend', 'synchronizer']);
  });

  it('applies patches in order, each seeing the previous result', () => {
    const out = applyPatches(objects(), [
      { target: { kind: 'ConfigMap' }, patch: { data: { b: '2' } } },
      { target: { kind: 'ConfigMap' }, ops: [{ op: 'test', path: '/data/b', value: '2' }, { op: 'remove', path: '/data/a' }] },
    ]);
    expect(byName(out, 'settings').data).toEqual({ b: '2' });
  });

  it('names the target and the objects when a patch matches nothing', () => {
    const e = patchError(() => applyPatches(objects(), [{ target: { kind: 'Deployment', name: 'web' }, patch: { spec: { replicas: 2 } } }]));
    expect(e.code).toBe('RINGMASTER_PATCH');
    expect(e.message).toBe(
      'patch #0 (strategic merge, target kind=Deployment name=web) matches no object; the objects are: Deployment/shop/backend, Deployment/shop/frontend, StatefulSet/shop/synchronizer, ConfigMap/shop/settings',
    );
  });

  it('names the patch and object when an op fails, and leaves the input untouched', () => {
    const input = objects();
    const e = patchError(() => applyPatches(input, [{ target: { kind: 'Deployment', name: 'backend' }, ops: [{ op: 'remove', path: '/spec/paused' }] }]));
    expect(e.message).toBe('patch #0 (JSON 6902) on Deployment/shop/backend: JSON patch op #0 (remove /spec/paused): path "/spec/paused" does not exist');
    expect(input).toEqual(objects());
  });

  it.each([
    [{ patch: { spec: { replicas: 1 } } }, 'must name its object with apiVersion, kind and metadata.name'],
    [{ ops: [] }, 'a JSON 6902 patch needs a target'],
    [{ target: { kind: 'ConfigMap' }, patch: { data: {} }, ops: [] }, 'not both'],
    [{ target: { kind: 'ConfigMap' } }, 'neither "patch" nor "ops"'],
    [{ target: { kind: 'ConfigMap' }, patch: 'a: [' }, 'not valid YAML'],
    [{ target: { kind: 'ConfigMap' }, patch: '42' }, 'must hold a map'],
    [{ target: { name: '(' }, patch: { data: {} } }, 'not a valid regular expression'],
    [{ target: { labelSelector: 'a=b,c d' }, patch: { data: {} } }, 'cannot read "c d"'],
    [{ target: { kind: 'Deployment' }, patch: { metadata: { $patch: 'bogus' } } }, 'on Deployment/shop/backend: strategic merge patch at /metadata: unknown directive'],
  ])('rejects %j', (spec, why) => {
    expect(patchError(() => applyPatches(objects(), [spec as never])).message).toContain(why);
  });

  it('rejects a 6902 result that lost its identity', () => {
    expect(patchError(() => applyPatches(objects(), [{ target: { kind: 'ConfigMap' }, ops: [{ op: 'remove', path: '/metadata/name' }] }])).message).toContain('must keep them');
  });
});

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasKubectl())('applyPatches agrees with kubectl kustomize', () => {
  it('on targets by regex and labels, body-named patches, JSON 6902 and deletion', () => {
    const patches = [
      { target: { kind: 'Deployment', name: '.*end', labelSelector: 'tier=app,role!=backend' }, patch: 'spec:\n  replicas: 7\n' },
      { patch: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'backend', namespace: 'shop' }, spec: { template: { spec: { containers: [{ name: 'app', image: 'backend:2' }, { name: 'proxy', image: 'envoy:1' }] } } } } },
      { target: { group: 'apps', kind: 'StatefulSet' }, ops: [{ op: 'add', path: '/spec/serviceName', value: 'sync' }, { op: 'replace', path: '/spec/replicas', value: 5 }] },
      { target: { version: 'v1', kind: 'ConfigMap', name: 'settings' }, patch: { $patch: 'delete' } },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-patches-'));
    try {
      const input = objects();
      input.forEach((o, i) => writeFileSync(join(dir, `r${i}.yaml`), stringify(o)));
      const kPatches = patches.map((p) => {
        if ('ops' in p) return { target: p.target, patch: stringify(p.ops) };
        if (typeof p.patch === 'string') return { target: p.target, patch: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ignored\n${p.patch}` };
        const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, ...p.patch };
        return p.target ? { target: p.target, patch: stringify(body) } : { patch: stringify(p.patch) };
      });
      writeFileSync(join(dir, 'kustomization.yaml'), stringify({ resources: input.map((_, i) => `r${i}.yaml`), patches: kPatches }));
      const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS() as NamedObject);
      const ours = applyPatches(input, patches);
      const key = (o: NamedObject): string => `${o.kind}/${o.metadata.name}`;
      expect(Object.fromEntries(ours.map((o) => [key(o), o]))).toEqual(Object.fromEntries(rendered.map((o) => [key(o), o])));
      expect(ours.map(key).sort()).toEqual(['Deployment/backend', 'Deployment/frontend', 'StatefulSet/synchronizer']);
      expect((byName(ours, 'frontend').spec as { replicas: number }).replicas).toBe(7);
      expect(JSON.stringify(byName(ours, 'backend'))).toContain('envoy:1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseLabelSelector', () => {
  it('reads equality- and set-based requirements', () => {
    expect(parseLabelSelector('a=b, c==d,e!=f,g in (x, y),h notin (z),i,!j,app.kubernetes.io/name=web')).toEqual([
      { key: 'a', op: 'eq', values: ['b'] },
      { key: 'c', op: 'eq', values: ['d'] },
      { key: 'e', op: 'ne', values: ['f'] },
      { key: 'g', op: 'in', values: ['x', 'y'] },
      { key: 'h', op: 'notin', values: ['z'] },
      { key: 'i', op: 'exists', values: [] },
      { key: 'j', op: 'absent', values: [] },
      { key: 'app.kubernetes.io/name', op: 'eq', values: ['web'] },
    ]);
  });
});
