import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";

export interface JobFilter {
  states: number[];
  sessionId: string | null;
  launcherId: string | null;
  /** Only jobs older than this sequence number (the page cursor). */
  beforeSeq: number | null;
  limit: number;
}

/** Jobs, newest first. */
export function listJobs(db: Db, f: JobFilter): Promise<JobRow[]> {
  let query = db.selectFrom("jobs").selectAll().orderBy("seq", "desc").limit(f.limit);
  if (f.states.length > 0) query = query.where("state", "in", f.states);
  if (f.sessionId !== null) query = query.where("session_id", "=", f.sessionId);
  if (f.launcherId !== null) query = query.where("launcher_id", "=", f.launcherId);
  if (f.beforeSeq !== null) query = query.where("seq", "<", f.beforeSeq);
  return query.execute();
}
