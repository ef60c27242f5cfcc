import type { Transaction } from "kysely";
import type { Db } from "./open_database.ts";
import type { JobRow } from "./rows.ts";
import type { Tables } from "./schema.ts";

export type Tx = Transaction<Tables>;

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

/** Runs `fn` in one transaction. */
export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(fn);
}
