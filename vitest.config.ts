import { defineConfig } from 'vitest/config';

// Three projects: unit tests beside the code (fakes at the ports), integration
// tests against SoftHSM and real processes, end-to-end tests with
// myproxy-server and myproxy-logon. The last two need root (see test/setup.sh).
export default defineConfig({
  test: {
    projects: [
      // Time limits are deadlines for a stuck test, not speed limits: some unit tests make RSA keys or run openssl,
      // seconds each on a loaded 2-core machine.
      { test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'], testTimeout: 60_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
