// Preloaded into a coordinator process by the benchmark (`node --import tsx --import
// bench/support/query_counter.ts coordinator/main.ts`) when TETHER_BENCH_COUNT_QUERIES=1:
// counts every statement the process sends to SQLite (each run/get/all/iterate of a
// better-sqlite3 statement) or PostgreSQL (each pg Client.query, BEGIN and COMMIT
// included). On SIGUSR2 it prints the counts to stderr as one JSON line. The coordinator
// itself knows nothing of it. It also adds up the time spent in each statement (for SQLite, where
// statements are synchronous, time the event loop was blocked; for PostgreSQL, round-trip time).
import pg from "pg";
import { watchSqliteStatements } from "../../tools/support/sqlite_statements.ts";
import { StatementTally } from "../../tools/support/statement_tally.ts";

/** Statements by their text, white space folded, cut to 90 characters. */
const tally = new StatementTally((text) => text.replace(/\s+/g, " ").trim().slice(0, 90));

if (process.env.TETHER_BENCH_COUNT_QUERIES === "1") {
  watchSqliteStatements(tally.add);

  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === "string" ? first : first?.text;
    const start = process.hrtime.bigint();
    const result = (query as (...a: unknown[]) => unknown).apply(this, args);
    // Promise-style calls (Kysely's, pg-boss's) are timed to their answer: a round trip, queueing included.
    if (result instanceof Promise) {
      const done = () => tally.add(text, Number(process.hrtime.bigint() - start) / 1e6);
      result.then(done, done);
    } else tally.add(text);
    return result;
  } as typeof query;

  process.on("SIGUSR2", () => {
    const report = { type: "queries", total: tally.total, top: tally.top(40), slowest: tally.slowest(12) };
    process.stderr.write(`${JSON.stringify(report)}\n`);
  });
}
