import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers and processes: keep parallelism modest on small machines.
    maxWorkers: 2,
    env: { RUST_BACKTRACE: "0" },
  },
});
