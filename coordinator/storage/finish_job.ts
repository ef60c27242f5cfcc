import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { failedPrecondition } from "../domain/errors.ts";
import { checkFencing } from "../domain/check_fencing.ts";
import { isPostgres } from "./db/dialect.ts";
import { type AttemptOutcome, attemptEnd, endAttempt, type RetryPolicy, sessionTurnEnd } from "./end_attempt.ts";
import { loadJobForUpdate } from "./load_job.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";

export interface FinishParams {
  launcherId: string;
  jobId: string;
  /** The epoch the report's fencing token stands for (FencingTokens.epochOf). */
  epoch: number;
  outcome: AttemptOutcome;
  /** When set, every event before this offset must be stored already. */
  nextEventOffset: number | null;
}

/**
 * Records a launcher's report that an attempt ended. A repeated report of
 * the same ending (a retry after a lost answer) returns the job unchanged.
 */
export async function finishJob(
  db: Db,
  p: FinishParams,
  policy: RetryPolicy,
  now: number,
): Promise<{ job: JobRow; changed: boolean }> {
  if (isPostgres(db) && p.outcome.state === JobState.SUCCEEDED) {
    const succeeded = await succeedRunning(db, p, now);
    if (succeeded) return { job: succeeded, changed: true };
  }
  return await inTransaction(db, async (tx) => {
    const job = await loadJobForUpdate(tx, p.jobId);
    if (isSameReport(job, p)) return { job, changed: false };
    checkFencing(job, p.launcherId, p.epoch, [JobState.RUNNING, JobState.CANCELLING]);
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
  if (job.launcher_id !== p.launcherId || job.epoch !== p.epoch) return false;
  if (p.outcome.state === JobState.SUCCEEDED) return job.state === JobState.SUCCEEDED;
  return [JobState.FAILED, JobState.CANCELLED, JobState.RETRY_WAIT].includes(job.state);
}

/**
 * The usual report, a running attempt that succeeded, on PostgreSQL in one
 * statement (one round trip, where the transaction above takes four): what
 * endAttempt writes for it, only if this launcher holds the attempt under
 * this token, the job is RUNNING and, when given, the event offset matches
 * (the values come from end_attempt.ts, as the transaction's do).
 * The UPDATE re-checks that on the row as it is when it locks it. Anything
 * else (a repeated report, a stale token, a cancel under way) returns
 * nothing and takes the transaction, which decides or says what is wrong.
 */
async function succeedRunning(db: Db, p: FinishParams, now: number): Promise<JobRow | undefined> {
  let ending = db.updateTable("jobs").where("id", "=", p.jobId).where("state", "=", JobState.RUNNING)
    .where("launcher_id", "=", p.launcherId).where("epoch", "=", p.epoch);
  if (p.nextEventOffset !== null) ending = ending.where("next_event_offset", "=", p.nextEventOffset);
  return await db
    .with("ended", () => ending.set(attemptEnd(JobState.SUCCEEDED, p.outcome, now, null)).returningAll())
    .with("session", (qb) =>
      qb.updateTable("sessions").from("ended").set(sessionTurnEnd(JobState.SUCCEEDED, p.outcome, now))
        .whereRef("sessions.id", "=", "ended.session_id").whereRef("sessions.last_job_id", "=", "ended.id")
        .returning("sessions.id"))
    .selectFrom("ended").selectAll().executeTakeFirst();
}
