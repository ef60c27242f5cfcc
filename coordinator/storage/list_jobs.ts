import { JobState } from "../../gen/tether/v1/job_pb.ts";
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

/**
 * The queued jobs that may have become eligible because these jobs let go
 * of a session turn or a concurrency slot: the head of each queue.
 */
export async function queuedSuccessors(db: Db, released: readonly JobRow[]): Promise<JobRow[]> {
  const found = new Map<string, JobRow>();
  for (const job of released) {
    for (const [column, value] of [["session_id", job.session_id], ["concurrency_key", job.concurrency_key]] as const) {
      if (value === null) continue;
      const next = await db.selectFrom("jobs").selectAll().where(column, "=", value).where("state", "=", JobState.QUEUED)
        .orderBy("priority", "desc").orderBy("seq").limit(1).executeTakeFirst();
      if (next) found.set(next.id, next);
    }
  }
  return [...found.values()];
}

/** The jobs with these ids that exist. */
export function loadJobs(db: Db, ids: readonly string[]): Promise<JobRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom("jobs").selectAll().where("id", "in", ids).execute();
}
