import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { type AttemptOutcome, attemptEnding } from "../domain/attempt_end.ts";
import { sessionStateFor } from "../domain/job_states.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import type { JobRow } from "./db/rows.ts";
import type { Tx } from "./db/transaction.ts";

/**
 * Records the end of a job's current attempt as attemptEnding decides it;
 * the job's session follows its latest turn. With `revoke` (the coordinator
 * ends the attempt, not the launcher's report) the fencing token is bumped,
 * so any late report of the old attempt is refused.
 */
export async function endAttempt(
  tx: Tx,
  job: JobRow,
  reported: AttemptOutcome,
  policy: RetryPolicy & { now: number; revoke: boolean; retryNotBefore?: number },
): Promise<JobRow> {
  const { now } = policy;
  const { next, outcome, retryAt } = attemptEnding(job, reported, policy);
  const ended = await tx.updateTable("jobs").set({
    ...attemptEnd(next, outcome, now, retryAt),
    epoch: policy.revoke ? job.epoch + 1 : job.epoch,
  }).where("id", "=", job.id).returningAll().executeTakeFirstOrThrow();
  if (job.session_id !== null) {
    await tx.updateTable("sessions").set(sessionTurnEnd(next, reported, now))
      .where("id", "=", job.session_id).where("last_job_id", "=", job.id).execute();
  }
  return ended;
}

/**
 * What an ended attempt writes on its job, `next` being the job's new
 * state (RETRY_WAIT until `retryAt`, or how it ended). A report without a
 * result keeps the result already stored. PostgreSQL's one-statement
 * FinishJob writes the same (finish_job.ts).
 */
export function attemptEnd(next: JobState, outcome: AttemptOutcome, now: number, retryAt: number | null) {
  return {
    state: next,
    failure_reason: outcome.state === JobState.SUCCEEDED ? FailureReason.UNSPECIFIED : outcome.reason,
    error: outcome.error,
    exit_code: outcome.exitCode,
    ...(outcome.result === null ? {} : { result: JSON.stringify(outcome.result) }),
    deadline_at: retryAt,
    stop_reason: null,
    offer_poll_id: null,
    update_time: now,
    finish_time: retryAt === null ? now : null,
  };
}

/** What an ended attempt writes on its session, when the job is the session's latest turn. */
export function sessionTurnEnd(next: JobState, outcome: AttemptOutcome, now: number) {
  return {
    state: sessionStateFor(next),
    ...(outcome.result === null ? {} : { result: JSON.stringify(outcome.result) }),
    ...(outcome.executorSessionId ? { executor_session_id: outcome.executorSessionId } : {}),
    update_time: now,
  };
}
