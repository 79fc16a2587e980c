import { describe, expect, it } from 'vitest';
import type { Cluster, Fleet, RenderedInstance, RenderedObject } from '@ringmaster/fleet';
import { parseDuration, resolvePolicy } from './model.ts';
import { wavesOf } from './releases.ts';
import { applyImageOverride, digestOf } from './render.ts';
import { stagesOf } from '../delivery/direct.ts';
import { applicationFor, applicationVerdict } from '../delivery/argocd.ts';
import { driftPolicy } from '../drift/policy.ts';

const cluster = (name: string, labels?: Record<string, string>) => ({ name, labels }) as unknown as Cluster;

describe('ring policy', () => {
  it('parses durations and fills defaults', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration(undefined)).toBeUndefined();
    expect(resolvePolicy(undefined)).toEqual({ waves: { all: true }, maxInFlight: null, maxFailures: 0, soakMs: 0, approval: 'auto', autoRollback: false, progressDeadlineMs: 600_000 });
    expect(resolvePolicy({ soak: '2m', approval: 'manual', maxInFlight: 2 })).toMatchObject({ soakMs: 120_000, approval: 'manual', maxInFlight: 2 });
  });

  it('splits a ring into waves by size, by label (natural order, unlabelled last) or all at once', () => {
    const cs = [cluster('c3', { wave: '10' }), cluster('c1', { wave: '2' }), cluster('c2'), cluster('c0', { wave: '2' }), cluster('c4', { wave: '1' })];
    expect(wavesOf(cs, resolvePolicy({ waves: { size: 2 } })).map((w) => w.clusters)).toEqual([['c0', 'c1'], ['c2', 'c3'], ['c4']]);
    expect(wavesOf(cs, resolvePolicy({ waves: { byLabel: 'wave' } }))).toEqual([
      { label: 'wave=1', clusters: ['c4'] }, { label: 'wave=2', clusters: ['c0', 'c1'] }, { label: 'wave=10', clusters: ['c3'] }, { label: 'wave (unset)', clusters: ['c2'] },
    ]);
    expect(wavesOf(cs, resolvePolicy({}))).toEqual([{ label: null, clusters: ['c0', 'c1', 'c2', 'c3', 'c4'] }]);
    expect(wavesOf([], resolvePolicy({}))).toEqual([]);
  });
});

describe('image override', () => {
  const fleet = (values: Record<string, unknown>) => ({ apps: new Map([['web', { name: 'web', values }]]) }) as unknown as Fleet;

  it('splits repository and tag when the app keeps them apart, and sets plain values whole', () => {
    const a = applyImageOverride(fleet({ image: { repository: 'web', tag: '1', pullPolicy: 'Always' } }), { app: 'web', image: 'registry.local:5000/web:2.1' });
    expect(a.apps.get('web')!.values).toEqual({ image: { repository: 'registry.local:5000/web', tag: '2.1', pullPolicy: 'Always' } });
    const digest = 'sha256:' + 'a'.repeat(64);
    expect(applyImageOverride(fleet({ image: { repository: 'web' } }), { app: 'web', image: `web@${digest}` }).apps.get('web')!.values).toEqual({ image: { repository: 'web', tag: digest } });
    expect(applyImageOverride(fleet({ proxy: { image: 'nginx:1' } }), { app: 'web', image: 'nginx:2', path: 'proxy.image' }).apps.get('web')!.values).toEqual({ proxy: { image: 'nginx:2' } });
  });

  it('leaves the loaded fleet alone and names what is wrong', () => {
    const f = fleet({ image: 'web:1' });
    applyImageOverride(f, { app: 'web', image: 'web:2' });
    expect(f.apps.get('web')!.values).toEqual({ image: 'web:1' });
    expect(() => applyImageOverride(f, { app: 'api', image: 'x' })).toThrow(/app "api" does not exist in the fleet \(known: web\)/);
    expect(() => applyImageOverride(fleet({ image: 'web:1' }), { app: 'web', image: 'x', path: 'image.tag' })).toThrow(/"image" on the image path "image.tag" of app "web" is not a map/);
  });
});

describe('direct delivery stages', () => {
  const o = (kind: string, name: string, role?: string): RenderedObject => ({ apiVersion: 'v1', kind, name, role, file: `${kind}-${name}.yaml`, object: { apiVersion: 'v1', kind, metadata: { name } }, yaml: `${kind} ${name}\n` });
  const inst = (objects: RenderedObject[]) => ({ instance: 'i', objects }) as RenderedInstance;

  it('puts objects without a role first, then one stage per role in render order', () => {
    const stages = stagesOf(inst([o('Namespace', 'ns'), o('ConfigMap', 'cfg'), o('StatefulSet', 'sync', 'synchronizer'), o('Deployment', 'be', 'backend'), o('Service', 'be', 'backend'), o('Deployment', 'fe', 'frontend')]));
    expect(stages.map((s) => s.map((x) => x.name))).toEqual([['ns', 'cfg'], ['sync'], ['be', 'be'], ['fe']]);
    expect(stagesOf(inst([o('ConfigMap', 'only')])).length).toBe(1);
  });

  it('digests the files, whatever their order', () => {
    expect(digestOf(inst([o('A', 'a'), o('B', 'b')]))).toBe(digestOf(inst([o('B', 'b'), o('A', 'a')])));
    expect(digestOf(inst([o('A', 'a')]))).not.toBe(digestOf(inst([o('A', 'b')])));
  });
});

describe('Argo CD verdict', () => {
  const app = (status: unknown) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'c--i' }, status });
  const includes = async (rev: string, commit: string) => rev === commit || rev === 'later';

  it('is Healthy only when synced at the commit (or a later one) and healthy', async () => {
    expect((await applicationVerdict(undefined, 'abc', includes)).status).toBe('Progressing');
    expect(await applicationVerdict(app({ sync: { status: 'Synced', revision: 'old' }, health: { status: 'Healthy' } }), 'abc', includes)).toMatchObject({ status: 'Progressing', reason: expect.stringMatching(/waiting for abc/) });
    expect((await applicationVerdict(app({ sync: { status: 'Synced', revision: 'later' }, health: { status: 'Healthy' } }), 'abc', includes)).status).toBe('Healthy');
    expect((await applicationVerdict(app({ sync: { status: 'Synced', revision: 'abc' }, health: { status: 'Progressing' } }), 'abc', includes)).status).toBe('Progressing');
    expect(await applicationVerdict(app({ sync: { status: 'Synced', revision: 'abc' }, health: { status: 'Degraded', message: 'boom' } }), 'abc', includes)).toEqual({ status: 'Degraded', reason: 'Application c--i is Degraded: boom' });
    expect((await applicationVerdict(app({ operationState: { phase: 'Failed', message: 'bad manifest', syncResult: { revision: 'abc' } } }), 'abc', includes)).reason).toMatch(/sync Failed: bad manifest/);
  });

  it('does not count a Degraded health or a failed sync of an older commit against this one (a rollback undoing a bad release)', async () => {
    expect(await applicationVerdict(app({ sync: { status: 'OutOfSync', revision: 'abc' }, health: { status: 'Degraded', message: 'boom' } }), 'abc', includes)).toMatchObject({ status: 'Progressing', reason: 'Application c--i is OutOfSync' });
    expect(await applicationVerdict(app({ sync: { status: 'Synced', revision: 'old' }, health: { status: 'Degraded' } }), 'abc', includes)).toMatchObject({ status: 'Progressing', reason: expect.stringMatching(/synced at old, waiting for abc/) });
    expect((await applicationVerdict(app({ operationState: { phase: 'Failed', syncResult: { revision: 'old' } }, sync: { status: 'OutOfSync' } }), 'abc', includes)).status).toBe('Progressing');
  });

  it('says what Argo CD reports as an error while it waits', async () => {
    const v = await applicationVerdict(app({ sync: { status: 'Unknown' }, conditions: [{ type: 'ComparisonError', message: 'repository not accessible' }, { type: 'SharedResourceWarning', message: 'x' }] }), 'abc', includes);
    expect(v).toEqual({ status: 'Progressing', reason: 'Application c--i is Unknown (ComparisonError: repository not accessible)' });
  });
});

describe('drift policy of an Argo CD Application', () => {
  const fleetWith = (ring?: boolean, app?: boolean, inst?: boolean) => ({
    rings: [{ name: 'dev', ...(ring === undefined ? {} : { drift: { selfHeal: ring } }) }],
    clusters: new Map([['dev-1', { name: 'dev-1', ring: 'dev' }]]),
    apps: new Map([['web', { name: 'web', ...(app === undefined ? {} : { drift: { selfHeal: app, ignore: [{ managers: ['vpa'] }] } }) }]]),
    instances: new Map([['web-dev-1', { name: 'web-dev-1', app: 'web', cluster: 'dev-1', ...(inst === undefined ? {} : { drift: { selfHeal: inst, ignore: [{ jsonPointers: ['/spec/replicas'] }] } }) }]]),
  }) as unknown as Fleet;
  const app = (selfHeal: boolean) => applicationFor({ cluster: 'dev-1', instance: 'web-dev-1', namespace: 'web', argocd: { namespace: 'argocd', project: 'default', destination: 'dev-1' }, repoURL: 'file:///m', branch: 'main', selfHeal });

  it('takes selfHeal from the instance, else the app, else the ring (default false); ignore rules of app and instance add up', () => {
    expect(driftPolicy(fleetWith(), 'web-dev-1')).toEqual({ selfHeal: false, ignore: [] });
    expect(driftPolicy(fleetWith(true), 'web-dev-1').selfHeal).toBe(true);
    expect(driftPolicy(fleetWith(true, false), 'web-dev-1').selfHeal).toBe(false);
    expect(driftPolicy(fleetWith(false, false, true), 'web-dev-1')).toEqual({ selfHeal: true, ignore: [{ managers: ['vpa'] }, { jsonPointers: ['/spec/replicas'] }] });
  });

  it("sets the Application's automated selfHeal from it, keeping automated sync and prune", () => {
    expect((app(false).spec as any).syncPolicy).toEqual({ automated: { prune: true, selfHeal: false }, syncOptions: ['ServerSideApply=true'] });
    expect((app(true).spec as any).syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });
});
