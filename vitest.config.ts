import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{collector,api,testenv}/tests/**/*.test.ts'],
    globalSetup: ['./testenv/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: integration tests against shared servers are I/O bound, so a
    // few files at a time is plenty and keeps timing-sensitive tests honest.
    maxWorkers: 3,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
