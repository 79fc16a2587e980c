import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LocalKubeError } from './errors.ts';
import { kwokConfig } from './kwok-stages.ts';

// kwok's default Stages come from its Go module; these placeholders stand for them so that only our
// own composition is under test (the real ones are used by every local-fleet test).
const moduleDir = mkdtempSync(join(tmpdir(), 'ringmaster-kwok-stages-'));
for (const f of ['node/fast/node-initialize.yaml', 'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml', 'pod/fast/pod-ready.yaml', 'pod/fast/pod-complete.yaml', 'pod/fast/pod-delete.yaml']) {
  const file = join(moduleDir, 'kustomize', 'stage', f);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: ${f.split('/').pop()!.replace('.yaml', '')}\n`);
}
afterAll(() => rmSync(moduleDir, { recursive: true, force: true }));

const stages = (text: string) =>
  parseAllDocuments(text).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as { metadata: { name: string }; spec?: { selector: { matchExpressions: Array<{ key: string }> } } };
  });

describe('kwokConfig', () => {
  it("puts each crashing image into the bad-image Stage's selector as a quoted jq string", () => {
    const docs = stages(kwokConfig(moduleDir, { crashingImages: ['appserver:7.5.1', 'registry.example.net/team/api@sha256:0abc'] }));
    expect(docs.map((d) => d.metadata.name)).toEqual([
      'node-initialize',
      'node-heartbeat-with-lease',
      'pod-ready',
      'pod-complete',
      'pod-delete',
      'ringmaster-bad-image-crash-loop',
      'ringmaster-hold-pending',
      'ringmaster-fault-crash-loop',
    ]);
    const key = docs.find((d) => d.metadata.name === 'ringmaster-bad-image-crash-loop')!.spec!.selector.matchExpressions.map((e) => e.key).find((k) => k.includes('endswith'))!;
    expect(key).toContain('endswith(":bad")');
    expect(key).toContain('endswith("appserver:7.5.1")');
    expect(key).toContain('endswith("registry.example.net/team/api@sha256:0abc")');
  });

  it.each([
    ["x') or true or ('", 'a quote that would end the jq string and the YAML scalar'],
    ['app:1.0\n  weight: 100', 'a newline that would add YAML keys'],
    ['app:"1"', 'a double quote'],
    ['', 'an empty reference'],
    ['a'.repeat(300), 'a reference longer than 255 characters'],
    ['-leading-dash:1', 'a reference that does not start with a letter or digit'],
  ])('refuses %j (%s), naming it', (image) => {
    expect(() => kwokConfig(moduleDir, { crashingImages: [image] })).toThrow(LocalKubeError);
    expect(() => kwokConfig(moduleDir, { crashingImages: ['fine:1', image] })).toThrow(`crashing image ${JSON.stringify(image)} is not an image reference`);
  });
});
