import { readFileSync } from 'node:fs';

/** The CLI's version: the one in its package.json, so there is a single place to bump it. */
export const CLIENT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
