import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the `twc-source`
// condition (tests, tsx) and their compiled JavaScript otherwise (images).
// The rest are Vite's default server conditions.
const conditions = ['twc-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      '{core,runtime,collector,api,testenv,local-stack}/tests/**/*.test.ts',
      'tests/**/*.test.ts',
      'e2e/**/*.test.ts',
    ],
    globalSetup: ['./testenv/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: integration tests against shared servers are I/O bound, so a
    // few files at a time is plenty and keeps timing-sensitive tests honest.
    maxWorkers: 3,
  },
});
