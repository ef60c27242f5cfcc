import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import { migrationProvider } from "./migrations.ts";
import { CachingSqliteDatabase, SqliteDialectWaitingForClose } from "./sqlite_dialect.ts";
import { syncSqliteWal } from "./transaction.ts";
import { type CheckpointOptions, WalCheckpointer } from "./wal_checkpointer.ts";
import type { Tables } from "./schema.ts";

export type Db = Kysely<Tables>;

export interface OpenOptions {
  maxBytes?: number | null;
  /** PostgreSQL: an idle connection of the pool failed (the pool replaces it). */
  onIdleError?: (error: Error) => void;
  /** SQLite: a checkpoint of the write-ahead log in the worker thread failed; commits checkpoint again. */
  onCheckpointError?: (error: Error) => void;
  /** SQLite: false only to measure what the fsync costs (benchmarks). */
  fsync?: boolean;
  /** SQLite: when the worker thread checkpoints (tests use small numbers); see WalCheckpointer. */
  checkpoints?: Partial<CheckpointOptions>;
}

/**
 * Opens the database and brings its schema up to date: PostgreSQL for a
 * postgres:// URL, else a SQLite file (its folder created), in WAL mode,
 * its log synced before any durable write is acknowledged so that it
 * survives a crash of the machine too, capped at `maxBytes` when given.
 */
export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Db> {
  const db = isPostgresUrl(path)
    ? openPostgres(path, options.onIdleError ?? (() => {}))
    : openSqlite(path, options);
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`Cannot migrate database "${redact(path)}": migration ${failed} failed: ${String(error)}`);
  }
  return db;
}

export function isPostgresUrl(path: string): boolean {
  return /^postgres(ql)?:\/\//.test(path);
}

/** The database's name for logs: a URL loses its password. */
export function redact(path: string): string {
  return isPostgresUrl(path) ? path.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@") : path;
}

/**
 * A pool of PostgreSQL connections. BIGINT columns (times, ids) come back
 * as numbers: every value tether stores is below 2^53.
 */
function openPostgres(url: string, onIdleError: (error: Error) => void): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // A server restart ends idle connections; unheard, that 'error' would end the process. The pool
  // replaces them, and a query on a broken connection fails to its caller (UNAVAILABLE).
  pool.on("error", onIdleError);
  return new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
}

function openSqlite(path: string, options: OpenOptions): Db {
  const maxBytes = options.maxBytes ?? null;
  const inMemory = path === ":memory:" || path === "";
  if (!inMemory) {
    // The database holds every prompt and result and the key fencing tokens are signed with: readable by
    // its owner only. SQLite gives its -wal and -shm files the database file's own mode.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, "a", 0o600));
  }
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  // Commits do not fsync on the event loop: the group commit syncs the log in the thread pool
  // before it answers (see syncSqliteWal in transaction.ts).
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  if (maxBytes) {
    const pageSize = sqlite.pragma("page_size", { simple: true }) as number;
    sqlite.pragma(`max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
  }
  const checkpointer = inMemory
    ? null
    : checkpointInWorker(sqlite, options.onCheckpointError ?? (() => {}), options.checkpoints ?? {});
  let closeWal = () => {};
  const database = new CachingSqliteDatabase(sqlite, () => {
    void checkpointer?.close();
    closeWal();
  });
  const db = new Kysely<Tables>({
    dialect: new SqliteDialectWaitingForClose(database, async () => await checkpointer?.close()),
  });
  closeWal = syncSqliteWal(db, inMemory || options.fsync === false ? null : `${sqlite.name}-wal`, checkpointer);
  return db;
}

/**
 * Moves the connection's WAL checkpoints to a worker thread (see
 * WalCheckpointer). Should one fail, the connection checkpoints inside its
 * commits again, as SQLite does by default, rather than let the log grow.
 */
function checkpointInWorker(
  sqlite: SQLite.Database,
  onError: (e: Error) => void,
  options: Partial<CheckpointOptions>,
): WalCheckpointer {
  sqlite.pragma("wal_autocheckpoint = 0");
  return new WalCheckpointer(sqlite.name, (error) => {
    if (sqlite.open) sqlite.pragma("wal_autocheckpoint = 1000");
    onError(error);
  }, options);
}
