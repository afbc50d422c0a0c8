import { defineConfig } from '@playwright/test';

// Paths are relative to this file (e2e/). One worker: the specs share one CPU-bound model runtime and
// each starts its own host; running them side by side only makes streaming timings noisier.
export default defineConfig({
  testDir: '.',
  outputDir: './artifacts/test-results',
  globalSetup: './globalSetup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list'], ['html', { outputFolder: './artifacts/report', open: 'never' }]],
  use: {
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    actionTimeout: 15_000,
  },
});
