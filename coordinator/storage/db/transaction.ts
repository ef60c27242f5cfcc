import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { type Kysely, sql } from "kysely";
import { isPostgres } from "./dialect.ts";
import type { Db } from "./open_database.ts";
import type { Tables } from "./schema.ts";
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
 * `walPath` (see {@link GroupCommit}); null for a database without one
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
 * one commit (group commit): see {@link GroupCommit}. The promise settles
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

/** Calls a committed transaction's `committed` hook; a hook that throws fails its caller, as a failed sync would. */
function tellCommitted(pending: Pending, value: unknown): boolean {
  try {
    pending.committed?.(value);
    return true;
  } catch (error) {
    pending.reject(error);
    return false;
  }
}

interface Pending {
  fn: (tx: Tx) => Promise<unknown>;
  durable: boolean;
  committed: ((value: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Transactions committed together at most; bounds the wait of the first one. */
const maxGroup = 256;

/**
 * Group commit for SQLite, with the fsync off the event loop.
 * better-sqlite3 is synchronous: a commit with `synchronous=FULL` would
 * hold the coordinator's only thread until its fsync returns, and one fsync
 * per RPC would cap every write path at the disk's fsync rate. Instead:
 *
 * - The connection runs with `synchronous=NORMAL`: a commit writes its
 *   frames to the write-ahead log and returns, without an fsync (SQLite
 *   still syncs the log and the database around each checkpoint).
 * - A committed transaction that must be durable is answered only after an
 *   fdatasync of the log file, run in libuv's thread pool while the event
 *   loop goes on. fsync flushes the file, whichever descriptor wrote it, so
 *   it covers every frame committed before it began; syncs that are asked
 *   for while one runs share the next one.
 * - Transactions queued while another runs go into the same SQLite
 *   transaction, each after the first under its own savepoint (a failure
 *   rolls back that one alone and reaches its caller at once; a failing
 *   first one rolls back the transaction, which held nothing else, and the
 *   rest begin another), and commit together. A lone transaction commits
 *   as soon as nothing else is ready to join it (one turn of the event
 *   loop), so grouping costs no latency when idle.
 * - No commit checkpoints the log: a worker thread does, between commits
 *   (see {@link WalCheckpointer}); when the log must start over, the next
 *   group waits for that first.
 *
 * The log file keeps its inode while the coordinator holds the database
 * open (SQLite deletes it only when the last connection closes), so one
 * descriptor serves the process's lifetime.
 */
class GroupCommit {
  private readonly queue: Pending[] = [];
  private running = false;
  private wal: Promise<FileHandle> | null = null;
  /** The fdatasync in progress, and the one that follows it, shared by all who ask meanwhile. */
  private syncing: Promise<void> | null = null;
  private nextSync: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly walPath: string | null,
    private readonly checkpointer: WalCheckpointer | null,
  ) {}

  run<T>(fn: (tx: Tx) => Promise<T>, durable: boolean, committed?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        fn,
        durable,
        committed: committed as ((value: unknown) => void) | undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        if (this.checkpointer?.restartDue) await this.checkpointer.restart();
        const group = await this.db.connection().execute((conn) => this.commitGroup(conn)).catch((error: unknown) => {
          // Only the connection itself failing gets here (commitGroup settles its members); keep no one waiting.
          for (const p of this.queue.splice(0)) p.reject(error);
          return [];
        });
        if (group.length > 0) this.checkpointer?.committed();
        const told = group.filter((g) => tellCommitted(g.pending, g.value));
        const durable = told.filter((g) => g.pending.durable);
        for (const g of told) if (!g.pending.durable) g.pending.resolve(g.value);
        if (durable.length === 0) continue;
        this.sync().then(
          () => durable.forEach((g) => g.pending.resolve(g.value)),
          (error: unknown) => durable.forEach((g) => g.pending.reject(error)),
        );
      }
    } finally {
      this.running = false;
    }
  }

  /** Closes the log's descriptor once the fdatasyncs under way or asked for are done. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void Promise.allSettled([this.syncing, this.nextSync])
      .then(() => this.wal?.then((handle) => handle.close()))
      .catch(() => {});
  }

  /** Makes every frame committed so far durable: one fdatasync, or the next one if one is running. */
  private sync(): Promise<void> {
    if (this.walPath === null) return Promise.resolve();
    if (!this.syncing) return this.startSync();
    // The running sync may have begun before these frames were written: wait for the next one, shared.
    return this.nextSync ??= this.syncing.catch(() => {}).then(() => {
      this.nextSync = null;
      return this.startSync();
    });
  }

  private startSync(): Promise<void> {
    const running: Promise<void> = this.datasync().finally(() => {
      if (this.syncing === running) this.syncing = null;
    });
    return this.syncing = running;
  }

  private async datasync(): Promise<void> {
    // Closed before the log was ever opened: SQLite may have deleted it, and nothing may reopen it.
    if (this.closed && this.wal === null) throw new Error("the database was closed before its log was synced");
    this.wal ??= open(this.walPath!, "r").then(async (handle) => {
      // The log's directory entry must be durable too, once.
      const dir = await open(dirname(this.walPath!), "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      return handle;
    });
    const handle = await this.wal.catch((error: unknown) => {
      this.wal = null;
      throw error;
    });
    await handle.datasync();
  }

  /** Runs the queued transactions in one SQLite transaction; returns those committed, with their results. */
  private async commitGroup(conn: Tx): Promise<{ pending: Pending; value: unknown }[]> {
    const group: { pending: Pending; value: unknown }[] = [];
    let current: Pending | null = null;
    try {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      while (group.length < maxGroup) {
        if (this.queue.length === 0) await new Promise<void>((r) => setImmediate(r));
        if (this.queue.length === 0) break;
        current = this.queue.shift()!;
        // The first needs no savepoint: should it fail, the transaction holds nothing else to keep.
        const first = group.length === 0;
        if (!first) await sql`SAVEPOINT one`.execute(conn);
        let value: unknown;
        try {
          value = await current.fn(conn);
        } catch (error) {
          if (first) {
            await sql`ROLLBACK`.execute(conn).catch(() => {});
            current.reject(error);
            return [];
          }
          // SQLite may have rolled back the whole transaction (a full disk): then the group fails with it.
          await sql`ROLLBACK TO one`.execute(conn).then(() => sql`RELEASE one`.execute(conn)).catch(() => {
            throw error;
          });
          current.reject(error);
          current = null;
          continue;
        }
        if (!first) await sql`RELEASE one`.execute(conn);
        group.push({ pending: current, value });
        current = null;
      }
      await sql`COMMIT`.execute(conn);
      return group;
    } catch (error) {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      // Nothing of the group was committed: each member hears why (the first failure, if the
      // write that failed took the others with it), and so do those waiting, if the group could not begin.
      const waiting = group.length === 0 && current === null ? this.queue.splice(0) : [];
      for (const p of [...group.map((g) => g.pending), ...(current ? [current] : []), ...waiting]) p.reject(error);
      return [];
    }
  }
}
