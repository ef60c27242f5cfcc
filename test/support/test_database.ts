import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScratchDatabase } from "../../tools/support/scratch_postgres.ts";

/** The backend the coordinator tests run on: "postgres" in the vitest project of that name. */
export const testBackend = process.env.TETHER_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";

export interface TestDatabase {
  /** What to pass as --db: a SQLite file path or a postgres:// URL. */
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test coordinator: a SQLite file in a new
 * temporary folder, or a new database on the PostgreSQL server named by
 * TETHER_TEST_PG_URL.
 */
export async function freshDatabase(): Promise<TestDatabase> {
  if (testBackend === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "tether-test-"));
    return { url: join(dir, "tether.db"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = process.env.TETHER_TEST_PG_URL;
  if (!admin) throw new Error("TETHER_TEST_PG_URL is not set: the PostgreSQL tests need a server");
  return await createScratchDatabase(admin, `tether_test_${randomBytes(6).toString("hex")}`);
}
