import { notFound } from "../errors.ts";
import type { Db } from "./open_database.ts";
import type { JobRow } from "./rows.ts";
import type { Tx } from "./transaction.ts";

/** Reads one job, or throws NOT_FOUND naming it. */
export async function loadJob(db: Db | Tx, jobId: string): Promise<JobRow> {
  const job = await db.selectFrom("jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
  if (!job) throw notFound(`job "${jobId}" not found`);
  return job;
}
