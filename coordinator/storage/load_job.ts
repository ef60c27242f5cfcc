import { notFound } from "../domain/errors.ts";
import { forUpdate } from "./db/dialect.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import type { Tx } from "./db/transaction.ts";

/** Reads one job, or throws NOT_FOUND naming it. */
export async function loadJob(db: Db | Tx, jobId: string): Promise<JobRow> {
  const job = await db.selectFrom("jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
  if (!job) throw notFound(`job "${jobId}" not found`);
  return job;
}

/** Reads one job inside a transaction that will change it, locking its row where that is needed. */
export async function loadJobForUpdate(tx: Tx, jobId: string): Promise<JobRow> {
  const job = await forUpdate(tx, tx.selectFrom("jobs").selectAll().where("id", "=", jobId)).executeTakeFirst();
  if (!job) throw notFound(`job "${jobId}" not found`);
  return job;
}
