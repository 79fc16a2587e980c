import { afterEach, describe, expect, it } from 'vitest';
import { loadFleet, planRevisions, renderFleet, validateFleet } from '@ringmaster/fleet';
import { EXAMPLE_FLEET, TempRepo } from './helpers.ts';
import { addApp, CHART_YAML, issuesOf } from './fleet-app.ts';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/** A nine-level anchor chain under an Instance's values: 9^9 leaves once expanded. */
function bombValues(): string {
  const lines = ['values:', '  a0: &a0 "lol"'];
  for (let i = 1; i <= 9; i++) lines.push(`  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

const DEPLOYMENT = (mode: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
      volumes:
        - name: scripts
          configMap:
            name: scripts
            defaultMode: ${mode}
            optional: yes
`;

describe('fleet YAML is read as Kubernetes reads it', () => {
  it('writes defaultMode: 0755 from a manifest as the octal number 493', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'modes', 'manifests', { 'manifests/deploy.yaml': DEPLOYMENT('0755') });
    const [r] = await renderFleet(await loadFleet(repo.dir), ['modes-dev']);
    const dep = r!.objects.find((o) => o.kind === 'Deployment')!;
    expect(dep.yaml).toContain('defaultMode: 493\n');
    expect(dep.yaml).toContain('optional: true\n');
  });

  it('writes defaultMode: 0755 from Helm output as the octal number 493', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'modes', 'helm', { 'chart/Chart.yaml': CHART_YAML, 'chart/templates/deploy.yaml': DEPLOYMENT('{{ .Values.mode }}') }, { app: 'values:\n  mode: "0755"\n' });
    const [r] = await renderFleet(await loadFleet(repo.dir), ['modes-dev']);
    expect(r!.objects.find((o) => o.kind === 'Deployment')!.yaml).toContain('defaultMode: 493\n');
  });

  it('reads instance values as Helm reads values.yaml: a plain 0644 is the number 420', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'modes', 'manifests', { 'manifests/deploy.yaml': DEPLOYMENT('${mode}') }, { instance: 'values:\n  mode: 0644\n' });
    const [r] = await renderFleet(await loadFleet(repo.dir), ['modes-dev']);
    expect(r!.objects.find((o) => o.kind === 'Deployment')!.yaml).toContain('defaultMode: 420\n');
  });
});

describe('an alias bomb in fleet values', () => {
  it('is refused by validate at the instance file, without expanding it', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('instances/appserver.yaml', 'values:\n  backend:\n    replicas: 1\n', bombValues());
    const issues = await issuesOf(() => validateFleet(repo.dir));
    expect(issues).toEqual([expect.objectContaining({ code: 'yaml-limit', location: expect.objectContaining({ file: 'instances/appserver.yaml' }) })]);
  });

  it('is refused by plan and render of a Git revision', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const from = repo.commit('fleet');
    repo.edit('instances/appserver.yaml', 'values:\n  backend:\n    replicas: 1\n', bombValues());
    const to = repo.commit('bomb');
    expect((await issuesOf(() => planRevisions({ repo: repo.dir, from, to })))[0]).toMatchObject({ code: 'yaml-limit' });
    expect((await issuesOf(async () => renderFleet(await loadFleet(repo.dir, to))))[0]).toMatchObject({ code: 'yaml-limit' });
  });
});

describe('prototype keys in fleet YAML', () => {
  it.each(['__proto__', 'constructor', 'prototype'])('refuses %s in instance values at its line in validate and render, polluting nothing', async (key) => {
    repo = new TempRepo(EXAMPLE_FLEET);
    repo.edit('instances/appserver.yaml', 'values:\n  backend:\n    replicas: 1\n', `values:\n  backend:\n    ${key}:\n      polluted: true\n`);
    const expected = [expect.objectContaining({ code: 'unsafe-key', location: { file: 'instances/appserver.yaml', line: 9, column: 5 } })];
    expect(await issuesOf(() => validateFleet(repo.dir))).toEqual(expected);
    expect(await issuesOf(async () => renderFleet(await loadFleet(repo.dir)))).toEqual(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses __proto__ inside a manifest at its position', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'proto', 'manifests', { 'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  __proto__:\n    polluted: "yes"\n' });
    const issues = await issuesOf(() => validateFleet(repo.dir));
    expect(issues).toEqual([expect.objectContaining({ code: 'unsafe-key', location: { file: 'apps/proto/manifests/cm.yaml', line: 6, column: 3 } })]);
  });

  it('refuses __proto__ in Helm output at the template that wrote it', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  __proto__:\n    polluted: "yes"\n';
    addApp(repo, 'proto', 'helm', { 'chart/Chart.yaml': CHART_YAML, 'chart/templates/cm.yaml': cm });
    const issues = await issuesOf(() => validateFleet(repo.dir));
    expect(issues).toEqual([expect.objectContaining({ code: 'unsafe-key', location: { file: 'apps/proto/chart/templates/cm.yaml', line: 1, column: 1 } })]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the literal-Secret check', () => {
  const OPAQUE = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n';

  it('catches stringData that an instance patch adds, naming the instance file and the instance', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    addApp(repo, 'vault', 'manifests', { 'manifests/secret.yaml': OPAQUE }, { instance: 'patches:\n  - target: {kind: Secret, name: db}\n    patch:\n      stringData:\n        password: hunter2\n' });
    const issues = await issuesOf(() => validateFleet(repo.dir));
    expect(issues).toEqual([expect.objectContaining({ code: 'secret-literal', location: expect.objectContaining({ file: 'instances/vault.yaml' }) })]);
    expect(issues[0]!.message).toContain('instance "vault-dev"');
  });

  it('catches a Secret wrapped in a List, and writes List items as objects of their own', async () => {
    repo = new TempRepo(EXAMPLE_FLEET);
    const list = (secretData: string) =>
      `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: settings}\n    data: {a: "1"}\n  - apiVersion: v1\n    kind: SecretList\n    items:\n      - apiVersion: v1\n        kind: Secret\n        metadata: {name: db}\n${secretData}`;
    addApp(repo, 'listed', 'manifests', { 'manifests/list.yaml': list('        data: {password: aHVudGVyMg==}\n') });
    const issues = await issuesOf(() => validateFleet(repo.dir));
    expect(issues).toEqual([expect.objectContaining({ code: 'secret-literal', location: expect.objectContaining({ file: 'apps/listed/manifests/list.yaml' }) })]);
    repo.write('apps/listed/manifests/list.yaml', list(''));
    const [r] = await renderFleet(await loadFleet(repo.dir), ['listed-dev']);
    const names = r!.objects.map((o) => `${o.kind}/${o.name}`);
    expect(names).toEqual(expect.arrayContaining(['ConfigMap/settings', 'Secret/db']));
    expect(names.filter((n) => n.includes('List'))).toEqual([]);
  });
});
