import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { failedPrecondition } from "../domain/errors.ts";
import { assertTransition, sessionStateFor } from "../domain/job_states.ts";
import { jobWritten, type Written } from "./changes.ts";
import { loadJobForUpdate } from "./load_job.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction, type Tx } from "./db/transaction.ts";

/**
 * Cancels a job. One that no launcher runs yet (queued, offered, waiting to
 * retry) ends CANCELLED at once, and an outstanding offer's token goes stale.
 * A running one becomes CANCELLING until its launcher reports that the
 * process exited. Cancelling a job twice is harmless.
 */
export function cancelJob(
  db: Db,
  jobId: string,
  reason: string,
  now: number,
): Promise<Written<JobRow>> {
  return inTransaction(db, async (tx) => {
    const job = await loadJobForUpdate(tx, jobId);
    switch (job.state) {
      case JobState.CANCELLING:
      case JobState.CANCELLED:
        return jobWritten(job, false);
      case JobState.SUCCEEDED:
      case JobState.FAILED:
        throw failedPrecondition(`job "${job.id}" already ended ${JobState[job.state]}; there is nothing to cancel`);
      case JobState.RUNNING:
        return jobWritten(await stopRunningJob(tx, job, FailureReason.CANCELLED, now), true);
      default:
        return jobWritten(await cancelWaitingJob(tx, job, reason, now), true);
    }
  });
}

/** Asks the launcher running `job` to stop it, recording why (CANCELLED or TIMEOUT). */
export async function stopRunningJob(tx: Tx, job: JobRow, why: FailureReason, now: number): Promise<JobRow> {
  assertTransition(job.id, job.state, JobState.CANCELLING);
  return await tx.updateTable("jobs")
    .set({ state: JobState.CANCELLING, stop_reason: why, deadline_at: null, update_time: now })
    .where("id", "=", job.id).returningAll().executeTakeFirstOrThrow();
}

async function cancelWaitingJob(tx: Tx, job: JobRow, reason: string, now: number): Promise<JobRow> {
  assertTransition(job.id, job.state, JobState.CANCELLED);
  const cancelled = await tx.updateTable("jobs").set({
    state: JobState.CANCELLED,
    failure_reason: FailureReason.CANCELLED,
    error: reason || "cancelled before it ran",
    epoch: job.epoch + 1,
    offer_poll_id: null,
    deadline_at: null,
    update_time: now,
    finish_time: now,
  }).where("id", "=", job.id).returningAll().executeTakeFirstOrThrow();
  if (job.session_id !== null) {
    await tx.updateTable("sessions").set({ state: sessionStateFor(JobState.CANCELLED), update_time: now })
      .where("id", "=", job.session_id).where("last_job_id", "=", job.id).execute();
  }
  return cancelled;
}
