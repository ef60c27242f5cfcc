import { statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { sql } from "kysely";
import type { Db } from "./open_database.ts";

/** How full a SQLite store is. */
export interface StoreSize {
  /** Bytes of the database's pages in use (pages freed by deletion are reused, so they do not count). */
  readonly usedBytes: number;
  /** Bytes of its file system a process may still take, and its size. */
  readonly freeDiskBytes: number;
  readonly diskBytes: number;
}

/**
 * Measures the SQLite store at `path`: a few pragmas and one statfs, cheap
 * enough to run every second. (On PostgreSQL the server's own disk and
 * settings guard it; a coordinator cannot see them.)
 */
export async function measureSqliteStore(db: Db, path: string): Promise<StoreSize> {
  const pragma = async (name: "page_count" | "freelist_count" | "page_size") => {
    const { rows } = await sql<Record<string, number>>`PRAGMA ${sql.raw(name)}`.execute(db);
    return Number(rows[0]?.[name] ?? 0);
  };
  const [pages, free, pageSize] = [await pragma("page_count"), await pragma("freelist_count"), await pragma("page_size")];
  const disk = await statfs(dirname(resolve(path)));
  return {
    usedBytes: (pages - free) * pageSize,
    freeDiskBytes: disk.bavail * disk.bsize,
    diskBytes: disk.blocks * disk.bsize,
  };
}
