import { defineConfig } from 'vitest/config';

const SITE_TESTS = ['test/site-build.test.ts', 'test/browser.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      // Fast checks of the registry, the validators and the statistics the pages show.
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: SITE_TESTS } },
      // A real build over a synthetic results tree (built once, test/support/global-build.ts), then chromium.
      {
        extends: true,
        test: {
          name: 'site',
          include: SITE_TESTS,
          globalSetup: ['test/support/global-build.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
