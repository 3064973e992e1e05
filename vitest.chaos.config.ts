import { defineConfig } from "vitest/config";

// `pnpm test:chaos`: the long fault-injection runs (issue #10), one scenario at a time.
export default defineConfig({
  test: {
    include: ["apps/*/chaos/**/*.chaos.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
