// Preloaded into a coordinator process by the benchmark (`node --import tsx --import
// bench/support/query_counter.ts coordinator/main.ts`) when TETHER_BENCH_COUNT_QUERIES=1:
// counts every statement the process sends to SQLite (each run/get/all/iterate of a
// better-sqlite3 statement) or PostgreSQL (each pg Client.query, BEGIN and COMMIT
// included). On SIGUSR2 it prints the counts to stderr as one JSON line. The coordinator
// itself knows nothing of it. It also adds up the time spent in each statement (for SQLite, where
// statements are synchronous, time the event loop was blocked; for PostgreSQL, round-trip time).
import pg from "pg";
import { watchSqliteStatements } from "../../tools/sqlite_statements.ts";

const counts = new Map<string, { n: number; ms: number }>();
let total = 0;

/** Counts one statement; SQLite's are synchronous, so the time spent in them is added too. */
function count(text: unknown, ms = 0): void {
  total++;
  const key = typeof text === "string" ? text.replace(/\s+/g, " ").trim().slice(0, 90) : "(prepared)";
  const entry = counts.get(key) ?? { n: 0, ms: 0 };
  entry.n++;
  entry.ms += ms;
  counts.set(key, entry);
}

if (process.env.TETHER_BENCH_COUNT_QUERIES === "1") {
  watchSqliteStatements(count);

  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === "string" ? first : first?.text;
    const start = process.hrtime.bigint();
    const result = (query as (...a: unknown[]) => unknown).apply(this, args);
    // Promise-style calls (Kysely's, pg-boss's) are timed to their answer: a round trip, queueing included.
    if (result instanceof Promise) {
      const done = () => count(text, Number(process.hrtime.bigint() - start) / 1e6);
      result.then(done, done);
    } else count(text);
    return result;
  } as typeof query;

  process.on("SIGUSR2", () => {
    const top = [...counts].sort((a, b) => b[1].n - a[1].n).slice(0, 40).map(([sql, c]) => [sql, c.n]);
    const slowest = [...counts].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)
      .map(([sql, c]) => [sql, c.n, Math.round(c.ms)]);
    process.stderr.write(`${JSON.stringify({ type: "queries", total, top, slowest })}\n`);
  });
}
