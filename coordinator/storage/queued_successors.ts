import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";

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
