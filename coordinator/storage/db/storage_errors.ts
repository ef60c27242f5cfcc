import { Code, ConnectError } from "@connectrpc/connect";
import SQLite from "better-sqlite3";

/**
 * The Connect error for a storage failure the caller can act on, or null.
 * A write that fails leaves the database as it was (the transaction rolls
 * back), so these are safe to retry once the cause is gone.
 */
export function storageError(error: unknown): ConnectError | null {
  if (!(error instanceof SQLite.SqliteError)) return postgresError(error);
  const code = error.code;
  if (code === "SQLITE_FULL") {
    return new ConnectError(
      "the coordinator's database is full (disk space or its size cap); nothing was changed: retry once space is freed",
      Code.ResourceExhausted,
    );
  }
  if (code.startsWith("SQLITE_READONLY")) {
    return new ConnectError(
      "the coordinator's database is read-only; nothing was changed: make the database file and its folder writable",
      Code.Unavailable,
    );
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_IOERR") || code === "SQLITE_CANTOPEN") {
    return new ConnectError(
      `the coordinator cannot write its database right now (${code}); nothing was changed: retry`,
      Code.Unavailable,
    );
  }
  return null;
}

/** PostgreSQL (and its connections) failures, by SQLSTATE or socket error code. */
function postgresError(error: unknown): ConnectError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  if (code === "53100") {
    return new ConnectError(
      "the coordinator's database is out of disk space; nothing was changed: retry once space is freed",
      Code.ResourceExhausted,
    );
  }
  if (code === "40001" || code === "40P01") {
    return new ConnectError(`the write collided with another (${code}); nothing was changed: retry`, Code.Aborted);
  }
  if (code.startsWith("08") || code.startsWith("57P") || ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT"].includes(code)) {
    return new ConnectError(
      `the coordinator cannot reach its database right now (${code}); nothing was changed: retry`,
      Code.Unavailable,
    );
  }
  return null;
}
