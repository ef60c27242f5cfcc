import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";

/** The jobs with these ids that exist. */
export function loadJobs(db: Db, ids: readonly string[]): Promise<JobRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom("jobs").selectAll().where("id", "in", ids).execute();
}
