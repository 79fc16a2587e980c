#!/usr/bin/env node
// In a checkout (src/ beside bin/), runs the TypeScript sources through tsx's loader, so development
// needs no build. The packed package carries only the compiled dist/ (scripts/build-cli.ts) and runs that.
import { existsSync } from 'node:fs';
import module from 'node:module';

const fromSources = existsSync(new URL('../src/main.ts', import.meta.url));
if (fromSources) (await import('tsx/esm/api')).register();
// Node 22.1+ keeps the compiled code between runs (as tsc does); Node 20 has no such cache
else module.enableCompileCache?.();
const { main } = await import(fromSources ? '../src/main.ts' : '../dist/main.js');
process.exitCode = await main(process.argv);
