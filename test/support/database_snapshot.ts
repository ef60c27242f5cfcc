import Database from "better-sqlite3";

/** Every row of every table, keyed by table name. */
export type DatabaseSnapshot = Record<string, unknown[]>;

/**
 * Reads every table of a SQLite file through its own read-only connection,
 * each table's rows ordered by all their columns, so that two snapshots are
 * equal exactly when the stored state is. The coordinator keeps the file
 * open in WAL mode; a second reader sees every committed write.
 */
export function snapshotDatabase(path: string): DatabaseSnapshot {
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
