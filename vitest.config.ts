import { defineConfig } from "vitest/config";

/**
 * Two projects: everything on SQLite, and the coordinator's conformance
 * suite again on PostgreSQL when TETHER_TEST_PG_URL names a server (a role
 * that may CREATE DATABASE; each test coordinator gets a fresh database).
 */
const pgUrl = process.env.TETHER_TEST_PG_URL;
if (!pgUrl) {
  console.log(
    "PostgreSQL half of the conformance suite skipped: no server given. Set TETHER_TEST_PG_URL, e.g. " +
      "postgres://tether:tether@127.0.0.1:5432/postgres (.ci/run installs and starts one).",
  );
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers and processes: keep parallelism modest on small machines.
    maxWorkers: 2,
    env: { RUST_BACKTRACE: "0" },
    projects: [
      { extends: true, test: { name: "sqlite", include: ["test/**/*.test.ts"] } },
      ...(pgUrl
        ? [{
          extends: true,
          test: {
            name: "postgres",
            include: ["test/coordinator/**/*.test.ts"],
            // SQLite's own file, pragmas and query plans.
            exclude: ["test/coordinator/storage.test.ts"],
            env: { RUST_BACKTRACE: "0", TETHER_TEST_BACKEND: "postgres" },
          },
        }]
        : []),
    ],
  },
});
