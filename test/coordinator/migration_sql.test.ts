import SQLite from "better-sqlite3";
import { type CompiledQuery, Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrationProvider } from "../../coordinator/storage/db/migrations.ts";
import { freshDatabase, testBackend } from "../support/test_database.ts";

/*
 * Migrations that have shipped must send the same SQL forever. 0001's queue index and 0002's claim
 * function write their job states and types through the generated enums (sql.lit); below are the
 * texts they sent when the numbers were typed in by hand, kept verbatim, byte for byte.
 */

const queueIndex = "CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE state = 1";

const claimFunction = `
        CREATE FUNCTION tether_claim_jobs(
          p_launcher_id text, p_hostname text, p_executors text[], p_labels text[],
          p_poll_id text, p_limit integer, p_deadline_at bigint, p_now bigint
        ) RETURNS SETOF jobs LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          -- Claims take turns across coordinators ("tether" in ASCII), so that two never both see a
          -- concurrency slot or a session turn as free; SKIP LOCKED passes over rows being changed.
          PERFORM pg_advisory_xact_lock(127979093517682);
          RETURN QUERY
          UPDATE jobs SET
            state = 2, launcher_id = p_launcher_id, epoch = epoch + 1, offer_poll_id = p_poll_id,
            deadline_at = p_deadline_at, update_time = p_now
          WHERE seq IN (
            SELECT j.seq FROM jobs j
            WHERE j.state = 1
              AND j.executor = ANY (p_executors)
              AND (j.target_launcher_id IS NULL OR j.target_launcher_id = p_launcher_id)
              AND (j.target_hostname IS NULL OR j.target_hostname = p_hostname)
              AND NOT EXISTS (SELECT 1 FROM job_labels jl WHERE jl.job_id = j.id AND jl.label <> ALL (p_labels))
              AND (j.type <> 2 OR EXISTS (
                SELECT 1 FROM sessions s WHERE s.id = j.session_id AND s.launcher_id = p_launcher_id))
              AND (j.session_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM jobs p WHERE p.session_id = j.session_id AND p.seq < j.seq
                  AND p.state NOT IN (4, 5, 7)))
              AND (j.concurrency_key IS NULL OR (
                (SELECT COUNT(*) FROM jobs r WHERE r.concurrency_key = j.concurrency_key
                  AND r.state IN (2, 3, 6)) < j.concurrency_limit
                AND NOT EXISTS (SELECT 1 FROM jobs e WHERE e.concurrency_key = j.concurrency_key
                  AND e.state IN (1, 8)
                  AND (e.priority > j.priority OR (e.priority = j.priority AND e.seq < j.seq)))))
            ORDER BY j.priority DESC, j.seq
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
          )
          RETURNING *;
        END
        $$`;

/** Migrates a new database of the test backend to the latest schema; returns every statement sent. */
async function migrate(): Promise<{ statements: CompiledQuery[]; prosrc: string | null }> {
  const statements: CompiledQuery[] = [];
  const log = (event: { level: string; query: CompiledQuery }) => {
    if (event.level === "query") statements.push(event.query);
  };
  const database = testBackend === "postgres" ? await freshDatabase() : null;
  const db = database
    ? new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }), log })
    : new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(":memory:") }), log });
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) throw error;
    // What the server holds: the function body as it was sent, between the $$.
    const prosrc = database
      ? (await sql<{ prosrc: string }>`SELECT prosrc FROM pg_proc WHERE proname = 'tether_claim_jobs'`.execute(db)).rows[0]!.prosrc
      : null;
    return { statements, prosrc };
  } finally {
    await db.destroy();
    await database?.drop();
  }
}

describe(`the shipped migrations on ${testBackend}`, () => {
  it("send the SQL they always sent, the enum numbers written in as literals", async () => {
    const { statements, prosrc } = await migrate();
    const sent = (start: string) => statements.filter((q) => q.sql.trimStart().startsWith(start));

    expect(sent("CREATE INDEX jobs_queue ").map((q) => [q.sql, q.parameters])).toEqual([[queueIndex, []]]);
    const claim = sent("CREATE FUNCTION tether_claim_jobs(");
    if (testBackend === "postgres") {
      expect(claim.map((q) => [q.sql, q.parameters])).toEqual([[claimFunction, []]]);
      expect(prosrc).toBe(claimFunction.slice(claimFunction.indexOf("$$") + 2, claimFunction.lastIndexOf("$$")));
    } else {
      expect(claim).toEqual([]);
    }
  });
});
