import { defineConfig } from "vitest/config";

// One test run for the whole monorepo: unit tests beside the code, cross-process tests in apps/*/test
// (and scripts/test for `pnpm start` itself).
export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "apps/*/src/**/*.test.ts",
      "apps/*/test/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "scripts/test/**/*.test.ts",
    ],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
