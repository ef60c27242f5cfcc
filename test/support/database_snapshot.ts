import Database from "better-sqlite3";
import pg from "pg";
import { isPostgresUrl } from "../../coordinator/storage/db/open_database.ts";

/** Every row of every table, keyed by table name. */
export type DatabaseSnapshot = Record<string, unknown[]>;

/**
 * Reads every table of the coordinator's database through a connection of
 * its own, each table's rows ordered by all their columns, so that two
 * snapshots are equal exactly when the stored state is. `path` is a SQLite
 * file (the coordinator keeps it open in WAL mode; a second reader sees every
 * committed write) or a postgres:// URL.
 */
export async function snapshotDatabase(path: string): Promise<DatabaseSnapshot> {
  return isPostgresUrl(path) ? await snapshotPostgres(path) : snapshotSqlite(path);
}

function snapshotSqlite(path: string): DatabaseSnapshot {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck()
      .all() as string[];
    return Object.fromEntries(tables.map((table) => {
      const columns = db.prepare("SELECT COUNT(*) FROM pragma_table_info(?)").pluck().get(table) as number;
      const order = Array.from({ length: columns }, (_, i) => i + 1).join(", ");
      return [table, db.prepare(`SELECT * FROM "${table}" ORDER BY ${order}`).all()];
    }));
  } finally {
    db.close();
  }
}

async function snapshotPostgres(url: string): Promise<DatabaseSnapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string; columns: number }>(
      `SELECT c.table_name AS name, count(*)::int AS columns FROM information_schema.columns c
       WHERE c.table_schema = 'public' GROUP BY c.table_name ORDER BY c.table_name`,
    );
    const snapshot: DatabaseSnapshot = {};
    for (const { name, columns } of tables) {
      const order = Array.from({ length: columns }, (_, i) => i + 1).join(", ");
      snapshot[name] = (await client.query(`SELECT * FROM "${name}" ORDER BY ${order}`)).rows;
    }
    return snapshot;
  } finally {
    await client.end();
  }
}
