import { type Kysely, sql } from "kysely";
import { isPostgres } from "./dialect.ts";
import type { Db } from "./open_database.ts";
import type { JobRow } from "./rows.ts";
import type { Tables } from "./schema.ts";

/** A connection inside a transaction. */
export type Tx = Kysely<Tables>;

/**
 * What a storage operation changed, for the coordinator to act on after the
 * commit: jobs to dispatch, watch streams to wake, launchers to tell.
 */
export interface Changes {
  /** Jobs whose state, events or deadline changed, as they are now. */
  readonly jobs: JobRow[];
  /** Launchers whose held polls must look again for commands. */
  readonly launchers: string[];
}

export function noChanges(): Changes {
  return { jobs: [], launchers: [] };
}

/**
 * Runs `fn` in one transaction that takes the write lock up front. On a
 * failure the caller gets the failure itself: SQLite rolls back on its own
 * after some errors (a full disk), and the rollback's own complaint ("no
 * transaction is active", which Kysely's transaction() would report
 * instead) must not hide why the write failed.
 */
export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  // SQLite: take the write lock at BEGIN, so that a transaction never fails to upgrade its lock midway.
  const begin = isPostgres(db) ? sql`BEGIN` : sql`BEGIN IMMEDIATE`;
  return db.connection().execute(async (conn) => {
    await begin.execute(conn);
    try {
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (error) {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      throw error;
    }
  });
}
