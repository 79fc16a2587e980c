import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPERATOR_CRDS_FILE, operatorCrdsYaml } from '../scripts/gen-operator-crds.ts';

describe('the example fleet\'s operator CRDs', () => {
  it('are the ones @ringmaster/operator defines (npm run gen:operator-crds rewrites them)', () => {
    expect(readFileSync(OPERATOR_CRDS_FILE, 'utf8')).toBe(operatorCrdsYaml());
  });
});
