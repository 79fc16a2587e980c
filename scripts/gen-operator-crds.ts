// Regenerates the example fleet's operator CRDs (examples/fleet/apps/ringmaster-operator/manifests/crds.yaml)
// from `operatorCrds` of @ringmaster/operator, the one definition of the AppCluster and NodeOperation
// schemas (test/operator-crds.test.ts checks the file is current): `npm run gen:operator-crds`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { operatorCrds } from '@ringmaster/operator';
import { toYaml } from '@ringmaster/fleet';

export const OPERATOR_CRDS_FILE = join(import.meta.dirname, '..', 'examples', 'fleet', 'apps', 'ringmaster-operator', 'manifests', 'crds.yaml');

/** The file's text: a header, then each CRD as a YAML document with sorted keys. */
export function operatorCrdsYaml(): string {
  const header = '# Generated from operatorCrds of @ringmaster/operator by `npm run gen:operator-crds`; do not edit.\n';
  return header + operatorCrds.map((crd) => toYaml(crd, { sort: true })).join('---\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(OPERATOR_CRDS_FILE, operatorCrdsYaml());
  console.log(`wrote ${OPERATOR_CRDS_FILE}`);
}
