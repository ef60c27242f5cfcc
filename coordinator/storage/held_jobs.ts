import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";

/**
 * A launcher's outstanding offers (those of an earlier poll with the same id
 * are a retried poll's answer) and the jobs it must stop (CANCELLING), in
 * one statement, in dispatch order.
 */
export function heldOffersAndCancels(db: Db, launcherId: string): Promise<JobRow[]> {
  return db.selectFrom("jobs").selectAll()
    .where("launcher_id", "=", launcherId).where("state", "in", [JobState.OFFERED, JobState.CANCELLING])
    .orderBy("priority", "desc").orderBy("seq").execute();
}

/** Jobs a launcher must stop: those in CANCELLING that it holds. */
export async function jobsToStop(db: Db, launcherId: string): Promise<string[]> {
  const rows = await db.selectFrom("jobs").select("id")
    .where("launcher_id", "=", launcherId).where("state", "=", JobState.CANCELLING).execute();
  return rows.map((r) => r.id);
}
