import { randomBytes } from "node:crypto";
import { createScratchDatabase, type ScratchDatabase, withClient } from "../../tools/support/scratch_postgres.ts";

/** The server the PostgreSQL runs use; each run makes its own databases on it and drops them after. */
export const adminUrl = process.env.TETHER_BENCH_PG_URL ?? "postgres://tether:tether@127.0.0.1:5432/postgres";

export type BenchDatabase = ScratchDatabase;

/** A new empty database named `bench_<what>_<random>`. */
export function createDatabase(what: string): Promise<BenchDatabase> {
  return createScratchDatabase(adminUrl, `bench_${what}_${randomBytes(4).toString("hex")}`);
}

/** Committed plus rolled-back transactions of one database so far (pg_stat_database, flushed first). */
export async function transactionCount(database: string): Promise<number> {
  return await withClient(adminUrl, async (c) => {
    // Statistics reach pg_stat_database when a backend reports them; clear the snapshot cache to read fresh values.
    await c.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await c.query<{ n: string }>(
      "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1",
      [database],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

/** The server processes serving one database now (to add their CPU time to the system under test). */
export async function backendPids(database: string): Promise<number[]> {
  return await withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]);
    return rows.map((r) => r.pid);
  });
}
