import { z } from 'zod';
import { DOCUMENT_SCHEMAS, type DocumentKind } from './model.ts';

const FILE_NAMES: Record<DocumentKind, string> = {
  Fleet: 'fleet.schema.json',
  Cluster: 'cluster.schema.json',
  App: 'app.schema.json',
  Instance: 'instance.schema.json',
};

/** JSON Schema documents for every fleet file kind, derived from the zod definitions (file name → text). */
export function fleetJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [kind, schema] of Object.entries(DOCUMENT_SCHEMAS) as [DocumentKind, z.ZodType][]) {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    const doc = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `https://ringmaster.dev/schemas/v1alpha1/${FILE_NAMES[kind]}`,
      title: `Ringmaster ${kind}`,
      description: `Generated from packages/fleet/src/model.ts by scripts/gen-schemas.ts — do not edit.`,
      ...Object.fromEntries(Object.entries(json).filter(([k]) => k !== '$schema')),
    };
    out.set(FILE_NAMES[kind], JSON.stringify(doc, null, 2) + '\n');
  }
  return out;
}
