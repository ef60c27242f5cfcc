import { type Kysely, sql } from "kysely";
import { isPostgres } from "./dialect.ts";
import type { Db } from "./open_database.ts";
import type { Tables } from "./schema.ts";
import { GroupCommit } from "./group_commit.ts";
import type { WalCheckpointer } from "./wal_checkpointer.ts";

/** A connection inside a transaction. */
export type Tx = Kysely<Tables>;

export interface TransactionOptions<T = unknown> {
  /**
   * Whether the commit must reach the disk before the caller hears of it
   * (the default). A write that may be lost in a power failure without
   * harm passes false: an offer (the job stays queued under its old token,
   * and the launcher, which starts nothing before a durable AcceptJob,
   * hears that the offer is gone) or a lease renewal (leases are extended
   * at every start). On SQLite it is then answered without waiting for an
   * fsync, and becomes durable with the next one, which syncs the whole
   * write-ahead log; a crash of the process alone loses nothing either way.
   * PostgreSQL always commits durably.
   */
  durable?: boolean;
  /**
   * Called with the transaction's result the moment it commits, before the
   * commit is durable (on SQLite the fsync follows; PostgreSQL's commit is
   * durable already). For work that may act on a commit the disk may yet
   * lose: handing a new job to a held poll, whose launcher starts nothing
   * before its AcceptJob is durable, and the log is synced in order, so
   * that AcceptJob's sync makes the job durable first.
   */
  committed?: (value: T) => void;
}

/**
 * Makes SQLite commits on `db` durable by syncing its write-ahead log
 * `walPath` (see GroupCommit in group_commit.ts); null for a database without one
 * (in memory) or, in benchmarks only, to measure without the fsync. The
 * `checkpointer`, if any, checkpoints that log between commits. Returns
 * what to call when the database closes.
 */
export function syncSqliteWal(db: Db, walPath: string | null, checkpointer: WalCheckpointer | null): () => void {
  const group = new GroupCommit(db, walPath, checkpointer);
  groups.set(db, group);
  return () => group.close();
}

/**
 * Runs `fn` in one transaction that takes the write lock up front. On a
 * failure the caller gets the failure itself: SQLite rolls back on its own
 * after some errors (a full disk), and the rollback's own complaint ("no
 * transaction is active", which Kysely's transaction() would report
 * instead) must not hide why the write failed.
 *
 * On SQLite, transactions that arrive while another is committing share
 * one commit (group commit): see GroupCommit in group_commit.ts. The promise settles
 * only once the caller's writes are committed, or have failed and changed
 * nothing.
 */
export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, options: TransactionOptions<T> = {}): Promise<T> {
  if (isPostgres(db)) {
    const { committed } = options;
    return committed ? postgresTransaction(db, fn).then((value) => (committed(value), value)) : postgresTransaction(db, fn);
  }
  const group = groups.get(db);
  // Without its group commit a SQLite handle would commit without ever syncing: refuse.
  if (!group) throw new Error("a SQLite database must be opened with openDatabase (it sets up the group commit)");
  return group.run(fn, options.durable ?? true, options.committed);
}

function postgresTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
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

const groups = new WeakMap<Db, GroupCommit>();
