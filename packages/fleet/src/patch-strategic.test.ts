import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { PatchError } from './patch-json6902.ts';
import { applyStrategicMerge } from './patch-strategic.ts';
import type { NamedObject } from '@ringmaster/kube-common';

const deployment = (name = 'web'): NamedObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            args: ['--a'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [
              { containerPort: 8080, name: 'http' },
              { containerPort: 53, protocol: 'UDP', name: 'dns' },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
          { name: 'sidecar', image: 'side:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
        tolerations: [{ key: 'a', operator: 'Exists' }],
      },
    },
  },
});

/** Kustomize (kyaml) puts a merged list's patched elements first; Kubernetes keeps the target's order around them. */
const KUSTOMIZE_ORDER = 'kustomize 5.5 orders merged lists its own way (patched elements first), not as Kubernetes does';

/**
 * Cases checked against a hand-written expectation and, when kubectl is installed, against
 * Kubernetes' own strategic merge (`kubectl patch --local`) and real `kubectl kustomize`.
 */
interface Case {
  name: string;
  target: () => NamedObject;
  patch: Record<string, unknown>;
  check: (out: NamedObject) => void;
  kustomizeDiffers?: string;
  kubectlDiffers?: string;
}

const cases: Case[] = [
  {
    name: 'merges containers by name and env by name, keeps the rest',
    target: deployment,
    patch: { spec: { template: { spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }] } } } },
    check: (out) => {
      const c = containersOf(out);
      expect(c.map((x) => x.name)).toEqual(['web', 'sidecar']);
      expect(c[0]?.image).toBe('web:2');
      expect(c[0]?.args).toEqual(['--a']);
      // Kubernetes' order: A was before B in the target and stays there; C, new, follows B as in the patch.
      expect(c[0]?.env).toEqual([
        { name: 'A', value: '1' },
        { name: 'B', value: 'two' },
        { name: 'C', value: '3' },
      ]);
    },
    kustomizeDiffers: KUSTOMIZE_ORDER,
  },
  {
    name: 'appends a new container and a new volume',
    target: deployment,
    patch: { spec: { template: { spec: { containers: [{ name: 'extra', image: 'x:1' }], volumes: [{ name: 'cache', emptyDir: {} }] } } } },
    check: (out) => {
      expect(containersOf(out).map((x) => x.name)).toEqual(['extra', 'web', 'sidecar']);
      expect(podSpec(out).volumes).toEqual([
        { name: 'cache', emptyDir: {} },
        { name: 'data', emptyDir: {} },
      ]);
    },
  },
  {
    name: 'deletes a list element with $patch: delete and a field with null',
    target: deployment,
    patch: { spec: { replicas: null, template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }, { name: 'late', image: 'l:1' }] } } } },
    check: (out) => {
      expect(containersOf(out).map((x) => x.name)).toEqual(['late', 'web']);
      expect((out.spec as Record<string, unknown>).replicas).toBeUndefined();
    },
  },
  {
    name: 'deletes a label with null',
    target: deployment,
    patch: { metadata: { labels: { app: null, tier: 'db' } } },
    check: (out) => expect(out.metadata.labels).toEqual({ tier: 'db' }),
    kustomizeDiffers: 'kubectl 1.32 (kustomize 5.5) writes the label as the string "null" instead of deleting it',
  },
  {
    name: 'replaces lists without a merge key (args, tolerations)',
    target: deployment,
    patch: { spec: { template: { spec: { tolerations: [{ key: 'b', operator: 'Exists' }], containers: [{ name: 'web', args: ['--b'] }] } } } },
    check: (out) => {
      expect(podSpec(out).tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
      expect(containersOf(out)[0]?.args).toEqual(['--b']);
    },
  },
  {
    name: 'merges container ports by containerPort and volumeMounts by mountPath',
    target: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9000 }], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } }),
    patch: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080, name: 'web' }, { containerPort: 9090, name: 'metrics' }], volumeMounts: [{ mountPath: '/data', readOnly: true }] }] } },
    check: (out) => {
      const c = (out.spec as { containers: Container[] }).containers[0]!;
      expect(c.ports).toEqual([{ containerPort: 8080, name: 'web' }, { containerPort: 9090, name: 'metrics' }, { containerPort: 9000 }]);
      expect(c.volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]);
    },
  },
  {
    name: 'replaces a map with $patch: replace',
    target: deployment,
    patch: { spec: { selector: { $patch: 'replace', matchLabels: { role: 'x' } } } },
    check: (out) => expect((out.spec as Record<string, unknown>).selector).toEqual({ matchLabels: { role: 'x' } }),
  },
  {
    name: 'replaces a keyed list with a "$patch: replace" element',
    target: deployment,
    patch: { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o:1' }] } } } },
    check: (out) => expect(containersOf(out)).toEqual([{ name: 'only', image: 'o:1' }]),
  },
  {
    name: 'unions finalizers (a primitive list with patchStrategy merge)',
    target: deployment,
    patch: { metadata: { finalizers: ['b', 'a'] } },
    check: (out) => expect(out.metadata.finalizers).toEqual(['b', 'a']),
  },
  {
    name: 'merges Service ports by port',
    target: () => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { ports: [{ port: 80, targetPort: 8080, name: 'http' }], selector: { app: 'web' } } }),
    patch: { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443, name: 'https' }] } },
    check: (out) => expect((out.spec as Record<string, unknown>).ports).toEqual([{ port: 80, targetPort: 9090, name: 'http' }, { port: 443, name: 'https' }]),
  },
  {
    name: 'replaces RBAC rules',
    target: () => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }),
    patch: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] },
    check: (out) => expect(out.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]),
  },
  {
    name: 'merges containers of a CronJob by name',
    target: () => ({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cj' },
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] } } } } },
    }),
    patch: { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:2' }] } } } } } },
    check: (out) => expect(JSON.stringify(out)).toContain('[{"name":"a","image":"a:1"},{"name":"b","image":"b:2"}]'),
    kustomizeDiffers: KUSTOMIZE_ORDER,
  },
  {
    name: 'keeps Service ports in the target order and puts a new port after the patched one',
    target: () => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'pg' },
      spec: { selector: { app: 'pg' }, ports: [{ name: 'pg', port: 5432 }, { name: 'replication', port: 5433 }, { name: 'metrics', port: 9187 }] },
    }),
    patch: { spec: { ports: [{ port: 9187, name: 'exporter' }, { port: 8008, name: 'patroni' }] } },
    check: (out) =>
      expect((out.spec as Record<string, unknown>).ports).toEqual([
        { name: 'pg', port: 5432 },
        { name: 'replication', port: 5433 },
        { name: 'exporter', port: 9187 },
        { name: 'patroni', port: 8008 },
      ]),
    kustomizeDiffers: KUSTOMIZE_ORDER,
  },
  {
    name: 'reorders existing containers as the patch names them',
    target: deployment,
    patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'side:2' }, { name: 'web', image: 'web:3' }] } } } },
    check: (out) => expect(containersOf(out).map((c) => `${c.name}=${c.image}`)).toEqual(['sidecar=side:2', 'web=web:3']),
  },
  {
    name: 'deletes one volume, changes another and adds a third, in Kubernetes order',
    target: () => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'pg' },
      spec: {
        serviceName: 'pg',
        selector: { matchLabels: { app: 'pg' } },
        template: {
          metadata: { labels: { app: 'pg' } },
          spec: {
            containers: [{ name: 'pg', image: 'postgres:16', env: [{ name: 'PGDATA', value: '/data' }, { name: 'TZ', value: 'UTC' }] }],
            volumes: [{ name: 'data', emptyDir: {} }, { name: 'cache', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
          },
        },
      },
    }),
    patch: {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'pg', env: [{ name: 'PGPORT', value: '5433' }, { name: 'PGDATA', value: '/var/lib/pg' }] }],
            volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory' } }, { name: 'cache', $patch: 'delete' }, { name: 'certs', secret: { secretName: 'pg-tls' } }],
          },
        },
      },
    },
    check: (out) => {
      const spec = (out.spec as { template: { spec: { containers: Container[]; volumes: unknown[] } } }).template.spec;
      expect(spec.volumes).toEqual([{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: { medium: 'Memory' } }, { name: 'certs', secret: { secretName: 'pg-tls' } }]);
      expect(spec.containers[0]?.env).toEqual([{ name: 'PGPORT', value: '5433' }, { name: 'PGDATA', value: '/var/lib/pg' }, { name: 'TZ', value: 'UTC' }]);
    },
    kustomizeDiffers: KUSTOMIZE_ORDER,
  },
  {
    name: 'orders a list by $setElementOrder',
    target: deployment,
    patch: { spec: { template: { spec: { containers: [{ name: 'web', '$setElementOrder/env': [{ name: 'B' }, { name: 'N' }, { name: 'A' }], env: [{ name: 'N', value: 'new' }] }] } } } },
    check: (out) => expect(containersOf(out)[0]?.env).toEqual([{ name: 'B', value: '2' }, { name: 'N', value: 'new' }, { name: 'A', value: '1' }]),
    kustomizeDiffers: KUSTOMIZE_ORDER,
  },
  {
    name: 'unions finalizers in Kubernetes order',
    target: () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', finalizers: ['example.net/x', 'example.net/y'] }, data: {} }),
    patch: { metadata: { finalizers: ['example.net/y', 'example.net/z'] } },
    check: (out) => expect(out.metadata.finalizers).toEqual(['example.net/x', 'example.net/y', 'example.net/z']),
    kustomizeDiffers: KUSTOMIZE_ORDER,
  },
  {
    name: 'merges StatefulSet initContainers by name and leaves volumeClaimTemplates atomic',
    target: () => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { initContainers: [{ name: 'init', image: 'i:1' }], containers: [{ name: 'db', image: 'db:1' }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }],
      },
    }),
    patch: { spec: { template: { spec: { initContainers: [{ name: 'init', image: 'i:2' }] } }, volumeClaimTemplates: [{ metadata: { name: 'wal' } }] } },
    check: (out) => {
      const spec = out.spec as { template: { spec: { initContainers: unknown[] } }; volumeClaimTemplates: unknown[] };
      expect(spec.template.spec.initContainers).toEqual([{ name: 'init', image: 'i:2' }]);
      expect(spec.volumeClaimTemplates).toEqual([{ metadata: { name: 'wal' } }]);
    },
  },
  {
    name: 'merges hostAliases by ip, imagePullSecrets by name and topologySpreadConstraints by topologyKey',
    target: () => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'c:1' }],
        hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }],
        imagePullSecrets: [{ name: 'reg' }],
        topologySpreadConstraints: [{ topologyKey: 'zone', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'p' } } }],
      },
    }),
    patch: { spec: { hostAliases: [{ ip: '10.0.0.1', hostnames: ['b'] }, { ip: '10.0.0.2', hostnames: ['c'] }], imagePullSecrets: [{ name: 'other' }], topologySpreadConstraints: [{ topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', maxSkew: 2 }] } },
    check: (out) => {
      const spec = out.spec as Record<string, unknown>;
      expect(spec.hostAliases).toEqual([{ ip: '10.0.0.1', hostnames: ['b'] }, { ip: '10.0.0.2', hostnames: ['c'] }]);
      expect(spec.imagePullSecrets).toEqual([{ name: 'other' }, { name: 'reg' }]);
      expect(spec.topologySpreadConstraints).toEqual([{ topologyKey: 'zone', maxSkew: 2, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'p' } } }]);
    },
  },
  {
    name: 'removes an env var with $patch: delete and merges ConfigMap data',
    target: () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', annotations: { a: '1' } }, data: { x: '1', y: '2' } }),
    patch: { metadata: { annotations: { b: '2' } }, data: { y: '3', z: '4' } },
    check: (out) => {
      expect(out.data).toEqual({ x: '1', y: '3', z: '4' });
      expect(out.metadata.annotations).toEqual({ a: '1', b: '2' });
    },
  },
  {
    name: 'deletes a map with $patch: delete',
    target: deployment,
    patch: { spec: { selector: { $patch: 'delete' }, template: { spec: { containers: [{ name: 'web', env: [{ name: 'A', $patch: 'delete' }] }] } } } },
    check: (out) => {
      expect((out.spec as Record<string, unknown>).selector).toBeUndefined();
      expect(containersOf(out)[0]?.env).toEqual([{ name: 'B', value: '2' }]);
    },
    kubectlDiffers: 'kubectl decodes into the typed Deployment, where the deleted selector comes back as {}',
  },
  {
    name: 'replaces lists of a custom resource (JSON merge patch)',
    target: () => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1, containers: [{ name: 'a', image: 'a:1' }, { name: 'b' }], opts: { x: 1, y: 2 } } }),
    patch: { spec: { containers: [{ name: 'a', image: 'a:2' }], opts: { y: null, z: 3 } } },
    check: (out) => expect(out.spec).toEqual({ size: 1, containers: [{ name: 'a', image: 'a:2' }], opts: { x: 1, z: 3 } }),
  },
];

type Container = { name: string; image?: string; args?: string[]; env?: unknown[]; ports?: unknown[]; volumeMounts?: unknown[] };
function podSpec(o: NamedObject): Record<string, unknown> {
  return (o.spec as { template: { spec: Record<string, unknown> } }).template.spec;
}
function containersOf(o: NamedObject): Container[] {
  return podSpec(o).containers as Container[];
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('applyStrategicMerge', () => {
  for (const c of cases) {
    it(c.name, () => {
      const target = c.target();
      const patch = structuredClone(c.patch);
      const out = applyStrategicMerge(target, patch);
      c.check(out);
      expect(target).toEqual(c.target());
      expect(patch).toEqual(c.patch);
    });
  }

  // kubectl 1.32's kustomize drops such a patched port; apiserver SMP would merge the two into one.
  it('keeps 53/TCP and 53/UDP apart when the protocol differs', () => {
    const out = applyStrategicMerge(deployment(), { spec: { template: { spec: { containers: [{ name: 'web', ports: [{ containerPort: 53, name: 'dns-tcp' }, { containerPort: 53, protocol: 'UDP', name: 'domain' }] }] } } } });
    expect(containersOf(out)[0]?.ports).toEqual([
      { containerPort: 53, name: 'dns-tcp' },
      { containerPort: 8080, name: 'http' },
      { containerPort: 53, protocol: 'UDP', name: 'domain' },
    ]);
  });

  it('supports $retainKeys and $deleteFromPrimitiveList', () => {
    const out = applyStrategicMerge(deployment(), {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
    });
    expect(out.metadata.finalizers).toEqual([]);
    const withStrategy = { ...deployment(), spec: { ...(deployment().spec as object), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const out2 = applyStrategicMerge(withStrategy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    expect((out2.spec as Record<string, unknown>).strategy).toEqual({ type: 'Recreate' });
  });

  it('names the list and merge key when an element lacks its key', () => {
    expect(() => applyStrategicMerge(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } })).toThrow(
      'strategic merge patch at /spec/template/spec/containers: element #0 has no "name"; this list merges by "name", so each element must name one (or use "- $patch: replace" to replace the list)',
    );
    expect(() => applyStrategicMerge(deployment(), { spec: { $patch: 'squash' } })).toThrow(/unknown directive "\$patch: squash"/);
  });

  it('refuses prototype keys anywhere in a patch, polluting nothing', () => {
    for (const body of ['{"metadata":{"__proto__":{"polluted":true}}}', '{"spec":{"template":{"spec":{"containers":[{"name":"web","constructor":{"polluted":true}}]}}}}', '{"metadata":{"$setElementOrder/prototype":[]}}']) {
      const patch = JSON.parse(body) as Record<string, unknown>;
      expect(() => applyStrategicMerge(deployment(), patch), body).toThrow(PatchError);
      expect(() => applyStrategicMerge(deployment(), patch), body).toThrow(/is not allowed/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a top-level $patch: delete (applyPatches drops the object instead)', () => {
    expect(() => applyStrategicMerge(deployment(), { $patch: 'delete' })).toThrow(PatchError);
  });

  describe.skipIf(!hasKubectl())("agrees with Kubernetes' own strategic merge (kubectl patch --local)", () => {
    it('on every case of a built-in kind', () => {
      // A custom resource needs its schema, which a local kubectl does not have.
      const builtin = (c: Case) => !c.kubectlDiffers && !/\.(?!k8s\.io)/.test(c.target().apiVersion.split('/')[0]!);
      withTempDir((dir) => {
        expect(
          mismatches(builtin, (c, i) => {
            writeFileSync(join(dir, `t${i}.json`), JSON.stringify(c.target()));
            return JSON.parse(execFileSync('kubectl', ['patch', '--local', '-f', join(dir, `t${i}.json`), '--type', 'strategic', '-p', JSON.stringify(c.patch), '-o', 'json'], { encoding: 'utf8' }));
          }),
        ).toEqual([]);
      });
    });
  });

  describe.skipIf(!hasKubectl())('agrees with kubectl kustomize', () => {
    it('on every case above', () => {
      withTempDir((dir) => {
        const resources: string[] = [];
        const patches: unknown[] = [];
        cases.forEach((c, i) => {
          if (c.kustomizeDiffers) return;
          const t = namedTarget(c, i);
          resources.push(`r${i}.yaml`);
          writeFileSync(join(dir, `r${i}.yaml`), stringify(t));
          const body = { apiVersion: t.apiVersion, kind: t.kind, ...c.patch, metadata: { ...((c.patch.metadata as object | undefined) ?? {}), name: t.metadata.name } };
          patches.push({ target: { kind: t.kind, name: t.metadata.name }, patch: stringify(body) });
        });
        // Every case's target gets its own name: kustomize renders them all at once.
        writeFileSync(join(dir, 'kustomization.yaml'), stringify({ resources, patches }));
        const rendered = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
        const byName = new Map(parseAllDocuments(rendered).map((d) => {
          const o = d.toJS() as NamedObject;
          return [o.metadata.name, o];
        }));
        expect(mismatches((c) => !c.kustomizeDiffers, (_c, i) => byName.get(`case-${i}`))).toEqual([]);
      });
    });
  });
});

function namedTarget(c: Case, i: number): NamedObject {
  const t = c.target();
  return { ...t, metadata: { ...t.metadata, name: `case-${i}` } };
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-smp-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cases (each target named case-<i>) whose result differs from what `theirs` gives, described. */
function mismatches(included: (c: Case) => boolean, theirs: (c: Case, i: number) => unknown): string[] {
  const out: string[] = [];
  cases.forEach((c, i) => {
    if (!included(c)) return;
    const named = { ...c, target: () => namedTarget(c, i) };
    const ours = applyStrategicMerge(named.target(), c.patch);
    const other = theirs(named, i);
    try {
      expect(ours).toEqual(other);
    } catch {
      out.push(`${c.name}:\n ours:   ${JSON.stringify(ours)}\n theirs: ${JSON.stringify(other)}`);
    }
  });
  return out;
}

describe('applyStrategicMerge properties', () => {
  const name = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const containerArb = fc.record({ name, image: fc.constantFrom('x:1', 'y:2'), args: fc.array(fc.constantFrom('--p', '--q'), { maxLength: 2 }), env: fc.uniqueArray(fc.record({ name, value: fc.string({ maxLength: 2 }) }), { selector: (e) => e.name, maxLength: 3 }) }, { requiredKeys: ['name'] });
  const containersArb = fc.uniqueArray(containerArb, { selector: (c) => c.name, maxLength: 4 });
  const targetArb = containersArb.map((containers) => {
    const d = deployment();
    (podSpec(d) as { containers: unknown }).containers = containers;
    return d;
  });
  const patchArb = fc.record(
    {
      metadata: fc.record({ labels: fc.dictionary(fc.constantFrom('app', 'tier', 'x'), fc.option(fc.constantFrom('1', '2'), { nil: null }), { maxKeys: 2 }) }),
      spec: fc.record({ replicas: fc.option(fc.nat(5), { nil: null }), template: fc.record({ spec: fc.record({ containers: containersArb }) }) }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  );

  it('an empty patch is the identity', () => {
    fc.assert(
      fc.property(targetArb, (t) => {
        expect(applyStrategicMerge(t, {})).toEqual(t);
      }),
    );
  });

  it('patching containers by name never duplicates names', () => {
    fc.assert(
      fc.property(targetArb, patchArb, (t, p) => {
        const names = containersOf(applyStrategicMerge(t, p)).map((c) => c.name);
        expect(new Set(names).size).toBe(names.length);
      }),
    );
  });

  it('applying the same patch twice equals applying it once', () => {
    fc.assert(
      fc.property(targetArb, patchArb, (t, p) => {
        const once = applyStrategicMerge(t, p);
        expect(applyStrategicMerge(once, p)).toEqual(once);
      }),
    );
  });

  it('never mutates its inputs', () => {
    fc.assert(
      fc.property(targetArb, patchArb, (t, p) => {
        const t0 = structuredClone(t);
        const p0 = structuredClone(p);
        applyStrategicMerge(t, p);
        expect(t).toEqual(t0);
        expect(p).toEqual(p0);
      }),
    );
  });
});
