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

export interface TransactionOptions {
  /**
   * Whether the commit must reach the disk before the caller hears of it
   * (the default). A write that may be lost in a power failure without
   * harm passes false: an offer (the job stays queued under its old token,
   * and the launcher, which starts nothing before a durable AcceptJob,
   * hears that the offer is gone) or a lease renewal (leases are extended
   * at every start). On SQLite it is then written without an fsync, and
   * becomes durable with the next durable commit, which syncs the whole
   * write-ahead log; a crash of the process alone loses nothing either way.
   * PostgreSQL always commits durably.
   */
  durable?: boolean;
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
export function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  if (isPostgres(db)) return postgresTransaction(db, fn);
  let group = groups.get(db);
  if (!group) groups.set(db, group = new GroupCommit(db));
  return group.run(fn, options.durable ?? true);
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

interface Pending {
  fn: (tx: Tx) => Promise<unknown>;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Transactions committed together at most; bounds the wait of the first one. */
const maxGroup = 256;

/**
 * Group commit for SQLite. better-sqlite3 is synchronous: a commit with
 * `synchronous=FULL` holds the coordinator's only thread until its fsync
 * returns, so one fsync per RPC caps every write path at the disk's fsync
 * rate. Here the transactions queued meanwhile run one after another inside
 * one SQLite transaction, each under its own savepoint (a failure rolls back
 * that one alone and reaches its caller at once), and then commit with one
 * fsync; each caller hears of its success only after that commit. A lone
 * transaction is committed as soon as nothing else is ready to join it (one
 * turn of the event loop), so group commit costs no latency when idle.
 *
 * SQLite cannot change its fsync setting inside a transaction, so a group
 * that began without one ends before the first transaction that needs one.
 */
class GroupCommit {
  private readonly queue: Pending[] = [];
  private running = false;
  /** The connection's fsync setting: FULL, as opened, until a group without fsync changes it. */
  private durable = true;

  constructor(private readonly db: Db) {}

  run<T>(fn: (tx: Tx) => Promise<T>, durable: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, durable, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        await this.db.connection().execute((conn) => this.commitGroup(conn)).catch((error: unknown) => {
          // Only the connection itself failing gets here (commitGroup settles its members); keep no one waiting.
          for (const p of this.queue.splice(0)) p.reject(error);
        });
      }
    } finally {
      this.running = false;
    }
  }

  private async commitGroup(conn: Tx): Promise<void> {
    const durable = this.queue.some((p) => p.durable);
    const group: { pending: Pending; value: unknown }[] = [];
    let current: Pending | null = null;
    try {
      if (durable !== this.durable) {
        await sql.raw(`PRAGMA synchronous = ${durable ? "FULL" : "NORMAL"}`).execute(conn);
        this.durable = durable;
      }
      await sql`BEGIN IMMEDIATE`.execute(conn);
      while (group.length < maxGroup) {
        if (this.queue.length === 0) await new Promise<void>((r) => setImmediate(r));
        if (this.queue.length === 0 || (this.queue[0]!.durable && !durable)) break;
        current = this.queue.shift()!;
        await sql`SAVEPOINT one`.execute(conn);
        let value: unknown;
        try {
          value = await current.fn(conn);
        } catch (error) {
          // SQLite may have rolled back the whole transaction (a full disk): then the group fails with it.
          await sql`ROLLBACK TO one`.execute(conn).then(() => sql`RELEASE one`.execute(conn)).catch(() => {
            throw error;
          });
          current.reject(error);
          current = null;
          continue;
        }
        await sql`RELEASE one`.execute(conn);
        group.push({ pending: current, value });
        current = null;
      }
      await sql`COMMIT`.execute(conn);
    } catch (error) {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      // Nothing of the group was committed: each member hears why (the first failure, if the
      // write that failed took the others with it), and so do those waiting, if the group could not begin.
      const waiting = group.length === 0 && current === null ? this.queue.splice(0) : [];
      for (const p of [...group.map((g) => g.pending), ...(current ? [current] : []), ...waiting]) p.reject(error);
      return;
    }
    for (const g of group) g.pending.resolve(g.value);
  }
}
