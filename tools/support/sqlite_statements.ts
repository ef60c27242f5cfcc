import SQLite from "better-sqlite3";

/** Hears of one statement: its SQL and the time spent in it. */
export type StatementListener = (source: string, ms: number) => void;

const listeners: StatementListener[] = [];

/**
 * Calls `listener` after every statement this process runs on SQLite (each
 * run, get, all and iterate of a better-sqlite3 statement), with the time
 * spent in it: statements are synchronous, so that is time the event loop
 * was held. Wraps better-sqlite3's Statement methods once, for every
 * listener; the database is real, this only watches it. For the tests and
 * the benchmarks, never the coordinator.
 */
export function watchSqliteStatements(listener: StatementListener): void {
  listeners.push(listener);
  if (listeners.length > 1) return;
  const probe = new SQLite(":memory:");
  const proto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ["run", "get", "all", "iterate"]) {
    const original = proto[method]!;
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      const start = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        for (const l of listeners) l(this.source, ms);
      }
    };
  }
}
