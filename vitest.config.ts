import { defineConfig } from 'vitest/config';

// CI sets TRUCO_VITEST_JSON to collect the totals it prints at the end.
const json = process.env.TRUCO_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
