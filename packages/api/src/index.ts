export * from './releases.ts';
export * from './live.ts';
