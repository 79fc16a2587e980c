// A chart of our own with about 1 MB of generated CRDs (big OpenAPI schemas, as operators ship),
// used to measure and test Ringmaster's processing of large helm output.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

const WORDS = ['replica', 'volume', 'backup', 'schedule', 'storage', 'network', 'policy', 'tls', 'metrics', 'resource', 'affinity', 'toleration'];

function description(seed: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 18; i++) parts.push(WORDS[(seed * 7 + i * 5) % WORDS.length]!);
  return `The ${parts.join(' ')} setting of the cluster; see the operator's reference for defaults.`;
}

/** An OpenAPI schema `depth` levels deep, `width` properties per level. */
function schema(seed: number, depth: number, width: number): Record<string, unknown> {
  if (depth === 0) return { type: 'string', description: description(seed), maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' };
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < width; i++) properties[`${WORDS[(seed + i) % WORDS.length]}${i}`] = schema(seed * 31 + i, depth - 1, width);
  return { type: 'object', description: description(seed), properties, required: Object.keys(properties).slice(0, 2) };
}

function crd(kind: string): string {
  const plural = kind.toLowerCase() + 's';
  return stringify(
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.big.example.net`, annotations: { 'controller-gen.example.net/version': 'v0.16.0' } },
      spec: {
        group: 'big.example.net',
        scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: ['v1', 'v1beta1'].map((name, v) => ({ name, served: true, storage: v === 0, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', properties: { spec: schema(kind.length + v, 3, 5), status: schema(kind.length * 3 + v, 2, 5) } } } })),
      },
    },
    { lineWidth: 0 },
  );
}

/** Writes the chart into `dir` (its crds/ folder, a Deployment of the operator); returns the CRD bytes written. */
export function writeBigCrdChart(dir: string, kinds = 6): number {
  mkdirSync(join(dir, 'crds'), { recursive: true });
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: big-operator\nversion: 2.1.0\nappVersion: "2.1.0"\n');
  writeFileSync(join(dir, 'values.yaml'), 'image: registry.example.net/big-operator:2.1.0\nreplicas: 1\n');
  writeFileSync(
    join(dir, 'templates', 'deployment.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: { app: big-operator }\n  template:\n    metadata:\n      labels: { app: big-operator }\n    spec:\n      containers:\n        - name: operator\n          image: {{ .Values.image }}\n',
  );
  let bytes = 0;
  for (let k = 0; k < kinds; k++) {
    const text = crd(['Cluster', 'Backup', 'Pooler', 'Restore', 'Snapshot', 'Database', 'Publication', 'Subscription'][k % 8]! + (k >= 8 ? k : ''));
    writeFileSync(join(dir, 'crds', `crd-${k}.yaml`), text);
    bytes += text.length;
  }
  return bytes;
}
