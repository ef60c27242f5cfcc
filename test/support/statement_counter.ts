import { watchSqliteStatements } from "../../tools/support/sqlite_statements.ts";
import { StatementTally } from "../../tools/support/statement_tally.ts";

/** Counts the statements this process runs on SQLite from now on. The database is real; this only watches it. */
export function countSqliteStatements(): { count(match?: RegExp): number } {
  const tally = new StatementTally();
  watchSqliteStatements(tally.add);
  return tally;
}
