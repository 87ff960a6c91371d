import { defineConfig } from 'vitest/config';

// The fault suite (npm run test:faults, see test/faults/run.ts): real processes in a network
// namespace with iptables loss. One file at a time: the scenarios measure timing on a 2-core box.
const json = process.env.TRUCO_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
