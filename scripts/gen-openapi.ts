// Regenerates docs/openapi.json from the API contract (@ringmaster/api); a test checks it is current.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiText } from '../packages/server/src/http/contract.ts';

const file = join(import.meta.dirname, '..', 'docs', 'openapi.json');
writeFileSync(file, openApiText());
console.log('wrote docs/openapi.json');
