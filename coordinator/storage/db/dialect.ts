import { type Kysely, PostgresAdapter, type SelectQueryBuilder } from "kysely";

/** Whether a database handle speaks PostgreSQL (else SQLite). Dialect differences stay in this folder. */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Locks the selected rows until the transaction ends, on PostgreSQL, where
 * several coordinators may change them at once. SQLite needs no lock: a
 * transaction there holds the single write lock from its start.
 */
export function forUpdate<DB, TB extends keyof DB, O>(
  db: Kysely<any>,
  query: SelectQueryBuilder<DB, TB, O>,
  options: { skipLocked?: boolean } = {},
): SelectQueryBuilder<DB, TB, O> {
  if (!isPostgres(db)) return query;
  return options.skipLocked ? query.forUpdate().skipLocked() : query.forUpdate();
}

/** Whether an error is a unique-constraint violation, in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
