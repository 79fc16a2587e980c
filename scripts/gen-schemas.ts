// Regenerates schemas/*.schema.json from the fleet format's zod definitions (a test checks they are current).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetJsonSchemas } from '@ringmaster/fleet';

const dir = join(import.meta.dirname, '..', 'schemas');
for (const [name, text] of fleetJsonSchemas()) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote schemas/${name}`);
}
