import { type FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction, type Tx } from "./db/transaction.ts";
import { type Written, written } from "./changes.ts";

/**
 * Puts offered jobs back in the queue: no attempt is burnt. Only offers
 * that are still outstanding under the given tokens move. `why`, when the
 * offer was lost rather than handed back, is recorded on the job. Returns
 * the jobs that moved.
 */
export async function releaseOffers(
  tx: Tx,
  offers: readonly { id: string; epoch: number; match_timeout_ms: number }[],
  now: number,
  why?: { reason: FailureReason; error: string },
): Promise<JobRow[]> {
  const released: JobRow[] = [];
  for (const offer of offers) {
    const row = await tx.updateTable("jobs").set({
      state: JobState.QUEUED,
      offer_poll_id: null,
      deadline_at: now + offer.match_timeout_ms,
      update_time: now,
      ...(why ? { failure_reason: why.reason, error: why.error } : {}),
    }).where("id", "=", offer.id).where("epoch", "=", offer.epoch).where("state", "=", JobState.OFFERED)
      .returningAll().executeTakeFirst();
    if (row) released.push(row);
  }
  return released;
}

/** Hands back offers a poll claimed for a client that went away: no attempt is burnt. */
export async function handBackOffers(db: Db, offers: readonly JobRow[], now: number): Promise<Written<void>> {
  // Like the offer itself, needs no fsync of its own (see TransactionOptions.durable).
  const released = await inTransaction(db, (tx) => releaseOffers(tx, offers, now), { durable: false });
  return written(undefined, { jobs: released });
}
