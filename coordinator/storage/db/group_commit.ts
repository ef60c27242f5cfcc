import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { sql } from "kysely";
import type { Db } from "./open_database.ts";
import type { Tx } from "./transaction.ts";
import type { WalCheckpointer } from "./wal_checkpointer.ts";

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
export class GroupCommit {
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
