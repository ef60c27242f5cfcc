import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { migrationProvider } from "./migrations.ts";
import type { Tables } from "./schema.ts";

export type Db = Kysely<Tables>;

/**
 * Opens the SQLite database (creating its folder), in WAL mode with full
 * fsync so that an acknowledged write survives a crash of the machine too,
 * capped at `maxBytes` when given, and brings its schema up to date.
 */
export async function openDatabase(path: string, options: { maxBytes?: number | null } = {}): Promise<Db> {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  if (options.maxBytes) {
    const pageSize = sqlite.pragma("page_size", { simple: true }) as number;
    sqlite.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
  }
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`Cannot migrate database "${path}": migration ${failed} failed: ${String(error)}`);
  }
  return db;
}
