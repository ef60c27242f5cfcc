import { watchSqliteStatements } from "../../tools/sqlite_statements.ts";

/** Counts the statements this process runs on SQLite from now on. The database is real; this only watches it. */
export function countSqliteStatements(): { count(match?: RegExp): number } {
  const seen: string[] = [];
  watchSqliteStatements((source) => seen.push(source));
  return { count: (match) => (match ? seen.filter((s) => match.test(s)).length : seen.length) };
}
