import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetJsonSchemas } from './json-schema.ts';

const SCHEMAS = join(import.meta.dirname, '..', '..', '..', 'schemas');

describe('JSON Schemas for fleet files', () => {
  it('are current: regenerating them changes nothing (run `npm run gen:schemas` after changing model.ts)', () => {
    const generated = fleetJsonSchemas();
    expect(readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json')).sort()).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) expect(readFileSync(join(SCHEMAS, name), 'utf8'), name).toBe(text);
  });

  it('describe the fields editors should complete', () => {
    const cluster = JSON.parse(fleetJsonSchemas().get('cluster.schema.json')!);
    expect(cluster.required).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'name', 'ring', 'region', 'delivery']));
    expect(cluster.additionalProperties).toBe(false);
    expect(JSON.stringify(cluster.properties.delivery)).toContain('argocd');
  });
});
