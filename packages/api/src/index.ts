export * from './common.ts';
export * from './releases.ts';
<<<<<<< HEAD
export * from './live.ts';
=======
export * from './events.ts';
export * from './changes.ts';
export * from './fleet.ts';
export * from './dora.ts';
export * from './dashboard.ts';
export * from './admin.ts';
export * from './meta.ts';
export * from './drift.ts';
export * from './operations.ts';
export * from './requests.ts';
export * from './routes.ts';
export * from './openapi.ts';
export * from './client.ts';
>>>>>>> api
