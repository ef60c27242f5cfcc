import type SQLite from "better-sqlite3";
import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type SqliteStatement,
} from "kysely";

/**
 * better-sqlite3 as Kysely sees it, keeping the compiled statements of the
 * most recent SQL texts: Kysely prepares every query anew, and
 * better-sqlite3 compiles at each prepare, which for the claim costs about
 * half as much as running it. A statement still being iterated is not
 * handed out twice. `onClose` runs as the connection closes.
 */
export class CachingSqliteDatabase implements SqliteDatabase {
  private readonly statements = new Map<string, SQLite.Statement>();

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly onClose: () => void,
    private readonly size = 256,
  ) {}

  prepare(source: string): SqliteStatement {
    const cached = this.statements.get(source);
    if (cached && !cached.busy) {
      // Most recently used last: the first entry is the one to evict.
      this.statements.delete(source);
      this.statements.set(source, cached);
      return cached;
    }
    const statement = this.sqlite.prepare(source);
    this.statements.set(source, statement);
    if (this.statements.size > this.size) this.statements.delete(this.statements.keys().next().value!);
    return statement;
  }

  close(): void {
    this.onClose();
    this.sqlite.close();
  }
}

/**
 * Kysely's SQLite dialect, whose destroy() also waits for `afterClose`
 * (the checkpoint thread letting go of the files), so that a caller that
 * destroys the database may reopen or delete it at once.
 */
export class SqliteDialectWaitingForClose implements Dialect {
  constructor(private readonly database: SqliteDatabase, private readonly afterClose: () => Promise<void>) {}

  createDriver(): Driver {
    const afterClose = this.afterClose;
    return new (class extends SqliteDriver {
      override async destroy(): Promise<void> {
        await super.destroy();
        await afterClose();
      }
    })({ database: this.database });
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
