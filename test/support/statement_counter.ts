import SQLite from "better-sqlite3";

/**
 * Counts the statements this process runs on SQLite (every run, get, all
 * and iterate of a better-sqlite3 statement), by wrapping the Statement
 * methods once. The database is real; this only watches it.
 */
export function countSqliteStatements(): { count(match?: RegExp): number } {
  const seen: string[] = [];
  const probe = new SQLite(":memory:");
  const proto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ["run", "get", "all", "iterate"]) {
    const original = proto[method]!;
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      seen.push(this.source);
      return original.apply(this, args);
    };
  }
  return { count: (match) => (match ? seen.filter((s) => match.test(s)).length : seen.length) };
}
