import cliPackage from '../package.json' with { type: 'json' };

/** The CLI's version: the one in its package.json (inlined into the compiled CLI), so there is a single place to bump it. */
export const CLIENT_VERSION: string = cliPackage.version;
