import { sql } from "kysely";
import type { Db } from "../../coordinator/storage/db/open_database.ts";
import type { Tx } from "../../coordinator/storage/db/transaction.ts";

/** Runs `fn` in a transaction that is rolled back, so that what it changes is seen by nothing after it. */
export function rolledBack<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
    try {
      return await fn(conn);
    } finally {
      await sql`ROLLBACK`.execute(conn);
    }
  });
}
