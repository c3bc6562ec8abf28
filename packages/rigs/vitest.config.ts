import { defineConfig } from 'vitest/config';

// Rig tests spawn processes and one runs a real rig: one file at a time on this 2-core machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
