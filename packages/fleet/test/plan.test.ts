import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPlanMarkdown, formatPlanText, GitError, planRevisions } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';

let repo: TempRepo;
let base: string;
beforeEach(() => {
  repo = new TempRepo(EXAMPLE_FLEET);
  base = repo.commit('example fleet');
});
afterEach(() => repo.cleanup());

describe('plan', () => {
  it('finds no change between a revision and itself', async () => {
    const plan = await planRevisions({ repo: repo.dir, from: base, to: 'HEAD' });
    expect(plan.instances).toEqual([]);
    expect(plan.summary).toEqual({ instances: 0, clusters: 0, rings: {}, objects: { create: 0, update: 0, delete: 0 } });
    expect(formatPlanText(plan)).toContain('No changes');
  });

  it('limits a change to one instance\'s values to that instance, with a unified diff and the changed field', async () => {
    repo.edit('instances/appserver.yaml', 'name: appserver-hooli\napp: appserver\ncluster: prod-eu-2\n', 'name: appserver-hooli\napp: appserver\ncluster: prod-eu-2\nvalues:\n  frontend:\n    replicas: 5\n');
    const to = repo.commit('hooli: 5 frontends');
    const plan = await planRevisions({ repo: repo.dir, from: base, to });
    expect(plan.from).toBe(base);
    expect(plan.to).toBe(to);
    expect(plan.summary).toEqual({ instances: 1, clusters: 1, rings: { prod: 1 }, objects: { create: 0, update: 1, delete: 0 } });
    const [inst] = plan.instances;
    expect(inst).toMatchObject({ instance: 'appserver-hooli', app: 'appserver', cluster: 'prod-eu-2', ring: 'prod', action: 'update', imagesAdded: [] });
    expect(inst!.objects).toHaveLength(1);
    expect(inst!.objects[0]).toMatchObject({ apiVersion: 'ringmaster.dev/v1alpha1', kind: 'AppCluster', namespace: 'appserver-hooli', name: 'appserver', action: 'update' });
    // the AppCluster's roles are a list: the field names the role, not an index
    expect(inst!.objects[0]!.fields).toEqual(['spec.roles[frontend].replicas: 3 → 5']);
    expect(inst!.objects[0]!.diff).toContain('--- a/prod-eu-2/appserver-hooli/appcluster.ringmaster.dev_appserver-hooli_appserver.yaml');
    expect(inst!.objects[0]!.diff).toContain('-    replicas: 3\n+    replicas: 5');
    expect(formatPlanText(plan, { diffs: false })).toContain('\n      spec.roles[frontend].replicas: 3 → 5\n');
  });

  it('lists a per-node override of an AppCluster by node, with its new image', async () => {
    repo.edit('instances/appserver.yaml', '- { name: frontend-2, traffic: dark }', '- { name: frontend-2, traffic: dark, image: registry.us.example.net/appserver:7.4.2 }');
    const plan = await planRevisions({ repo: repo.dir, from: base, to: repo.commit('wayne: frontend-2 on 7.4.2') });
    expect(plan.instances.map((i) => i.instance)).toEqual(['appserver-wayne']);
    const [inst] = plan.instances;
    expect(inst!.imagesAdded).toEqual(['registry.us.example.net/appserver:7.4.2']);
    expect(inst!.objects.map((o) => [o.kind, o.fields])).toEqual([['AppCluster', ['spec.nodes[frontend-2].image: (none) → "registry.us.example.net/appserver:7.4.2"']]]);
  });

  it('shows a base change to an app touching every instance of it, in every ring, with the new image', async () => {
    repo.edit('apps/appserver/app.yaml', 'tag: "7.4.1"', 'tag: "7.5.0"');
    const to = repo.commit('appserver 7.5.0');
    const plan = await planRevisions({ repo: repo.dir, from: base, to });
    expect(plan.summary.instances).toBe(7);
    expect(plan.summary.rings).toEqual({ dev: 1, canary: 2, prod: 4 });
    // one AppCluster per instance, its three roles' images
    expect(plan.summary.objects).toEqual({ create: 0, update: 7, delete: 0 });
    expect(plan.instances.every((i) => i.app === 'appserver')).toBe(true);
    const acme = plan.instances.find((i) => i.instance === 'appserver-acme')!;
    expect(acme.imagesAdded).toEqual(['registry.eu.example.net/appserver:7.5.0']);
    expect(acme.objects[0]!.fields).toEqual(['synchronizer', 'backend', 'frontend'].map((r) => `spec.roles[${r}].image: "registry.eu.example.net/appserver:7.4.1" → "registry.eu.example.net/appserver:7.5.0"`));
  });

  it('reports created and deleted instances and objects', async () => {
    repo.write('instances/extra.yaml', 'apiVersion: ringmaster.dev/v1alpha1\nkind: Instance\nname: appserver-extra\napp: appserver\ncluster: dev-eu-1\nnamespace: extra\n');
    repo.remove('instances/metrics-agent.yaml');
    repo.remove('apps/appserver/manifests/config.yaml');
    const to = repo.commit('add extra, drop metrics agents, drop config');
    const plan = await planRevisions({ repo: repo.dir, from: base, to });
    const extra = plan.instances.find((i) => i.instance === 'appserver-extra')!;
    expect(extra.action).toBe('create');
    expect(extra.objects.every((o) => o.action === 'create')).toBe(true);
    expect(extra.objects.find((o) => o.kind === 'Namespace')!.diff).toContain('--- /dev/null');
    const agents = plan.instances.filter((i) => i.app === 'metrics-agent');
    expect(agents.map((a) => a.action)).toEqual(['delete', 'delete', 'delete']);
    const acme = plan.instances.find((i) => i.instance === 'appserver-acme')!;
    expect(acme.objects.map((o) => `${o.action} ${o.kind}/${o.name}`)).toEqual(['delete ConfigMap/appserver-config']);
  });

  it('reads revisions without touching the work tree, even when it is dirty', async () => {
    repo.write('clusters/dev.yaml', 'not: [valid\n');
    const plan = await planRevisions({ repo: repo.dir, from: base, to: base });
    expect(plan.instances).toEqual([]);
    expect(repo.git('status', '--porcelain')).toBe('M clusters/dev.yaml');
  });

  it('fails on an unknown revision', async () => {
    await expect(planRevisions({ repo: repo.dir, from: base, to: 'feature/missing' })).rejects.toThrow(GitError);
  });

  it('renders a pull-request comment in Markdown', async () => {
    repo.edit('apps/appserver/app.yaml', 'tag: "7.4.1"', 'tag: "7.5.0"');
    const to = repo.commit('appserver 7.5.0');
    const md = formatPlanMarkdown(await planRevisions({ repo: repo.dir, from: base, to }));
    expect(md).toContain(`### Ringmaster plan \`${base.slice(0, 12)}\` → \`${to.slice(0, 12)}\``);
    expect(md).toContain('| ring | instances | clusters |');
    expect(md).toContain('| canary | 2 | 2 |');
    expect(md).toContain('```diff');
    expect(md).toContain('+    image: registry.us.example.net/appserver:7.5.0');
  });
});
