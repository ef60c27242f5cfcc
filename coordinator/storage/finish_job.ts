import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { failedPrecondition } from "../errors.ts";
import { checkFencing } from "./check_fencing.ts";
import { type AttemptOutcome, endAttempt, type RetryPolicy } from "./end_attempt.ts";
import { loadJobForUpdate } from "./load_job.ts";
import type { Db } from "./open_database.ts";
import type { JobRow } from "./rows.ts";
import { inTransaction } from "./transaction.ts";

export interface FinishParams {
  launcherId: string;
  jobId: string;
  fencingToken: string;
  outcome: AttemptOutcome;
  /** When set, every event before this offset must be stored already. */
  nextEventOffset: number | null;
}

/**
 * Records a launcher's report that an attempt ended. A repeated report of
 * the same ending (a retry after a lost answer) returns the job unchanged.
 */
export function finishJob(
  db: Db,
  p: FinishParams,
  policy: RetryPolicy,
  now: number,
): Promise<{ job: JobRow; changed: boolean }> {
  return inTransaction(db, async (tx) => {
    const job = await loadJobForUpdate(tx, p.jobId);
    if (isSameReport(job, p)) return { job, changed: false };
    checkFencing(job, p.launcherId, p.fencingToken, [JobState.RUNNING, JobState.CANCELLING]);
    if (p.outcome.state === JobState.CANCELLED && job.state !== JobState.CANCELLING) {
      throw failedPrecondition(
        `job "${job.id}" was not asked to stop, so it cannot end CANCELLED; report JOB_STATE_FAILED with a ` +
          "failureReason (FAILURE_REASON_LAUNCHER_LOST when the launcher itself is going away)",
      );
    }
    if (p.nextEventOffset !== null && p.nextEventOffset !== job.next_event_offset) {
      throw failedPrecondition(
        `job "${job.id}" has events up to offset ${job.next_event_offset}, not ${p.nextEventOffset}; ` +
          `append the events from offset ${job.next_event_offset} before finishing`,
      );
    }
    return { job: await endAttempt(tx, job, p.outcome, { ...policy, now, revoke: false }), changed: true };
  });
}

/**
 * The job already ended, or waits for a retry, because of this very
 * attempt's report of the same kind of ending (a retry after a lost answer).
 */
function isSameReport(job: JobRow, p: FinishParams): boolean {
  if (job.launcher_id !== p.launcherId || String(job.epoch) !== p.fencingToken) return false;
  if (p.outcome.state === JobState.SUCCEEDED) return job.state === JobState.SUCCEEDED;
  return [JobState.FAILED, JobState.CANCELLED, JobState.RETRY_WAIT].includes(job.state);
}
