import { defineConfig } from 'vitest/config';

// Tests that create kernel objects (namespaces, bridges, nft tables, VMs) share one host: run files one at a time
// (the machine has 2 cores) and give real-kernel tests room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
