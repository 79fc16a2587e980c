import { defineConfig } from 'vitest/config';

const ALL = ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'];
// End-to-end files that share one local fleet (real API servers, controllers, kwok, Argo CD),
// started once by the fleet project's global setup — only when one of them is selected.
const FLEET = ['packages/*/test/**/*.fleet.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    setupFiles: ['test/setup/helm-renderer.ts'],
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: FLEET } },
      { extends: true, test: { name: 'fleet', include: FLEET, globalSetup: ['packages/server/test/flighting/shared-fleet.ts'], hookTimeout: 600_000 } },
    ],
  },
});
