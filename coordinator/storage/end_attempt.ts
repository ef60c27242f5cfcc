import type { JsonObject } from "@bufbuild/protobuf";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { assertTransition, isRetryable, retryBackoffMs, sessionStateFor } from "../domain/job_states.ts";
import type { JobRow } from "./db/rows.ts";
import type { Tx } from "./db/transaction.ts";

/** How an attempt ended. */
export interface AttemptOutcome {
  state: JobState.SUCCEEDED | JobState.FAILED | JobState.CANCELLED;
  reason: FailureReason;
  error: string;
  exitCode: number | null;
  result: JsonObject | null;
  executorSessionId: string | null;
}

export interface RetryPolicy {
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

/**
 * Records the end of a job's current attempt: the job ends, or waits in
 * RETRY_WAIT for its next attempt when the failure is retryable and
 * attempts remain. A job that was asked to stop is never retried, except
 * when it was stopped for its timeout and its policy retries timeouts. The
 * job's session follows its latest turn. With `revoke` (the coordinator ends
 * the attempt, not the launcher's report) the fencing token is bumped, so any
 * late report of the old attempt is refused. `retryNotBefore` holds a retry
 * back while the old attempt's process may still run (a launcher taken over).
 */
export async function endAttempt(
  tx: Tx,
  job: JobRow,
  outcome: AttemptOutcome,
  policy: RetryPolicy & { now: number; revoke: boolean; retryNotBefore?: number },
): Promise<JobRow> {
  const { now } = policy;
  let { state, reason, error } = outcome;
  if (job.state === JobState.CANCELLING && state !== JobState.SUCCEEDED) {
    // The stop we asked for decides how a stopped attempt is recorded.
    if (job.stop_reason === FailureReason.TIMEOUT) {
      state = JobState.FAILED;
      reason = FailureReason.TIMEOUT;
      error ||= `attempt ${job.attempt} ran past its timeout of ${job.timeout_ms}ms and was stopped`;
    } else if (reason !== FailureReason.LAUNCHER_LOST) {
      state = JobState.CANCELLED;
      reason = FailureReason.CANCELLED;
    } else {
      state = JobState.CANCELLED;
      reason = FailureReason.CANCELLED;
      error ||= "the launcher was lost while the job was being cancelled";
    }
  }
  const cancelRequested = job.state === JobState.CANCELLING && job.stop_reason !== FailureReason.TIMEOUT;
  const retry = state === JobState.FAILED && !cancelRequested &&
    isRetryable(reason, job.retry_job_failures === 1) && job.attempt < job.max_attempts;
  const next = retry ? JobState.RETRY_WAIT : state;
  assertTransition(job.id, job.state, next);
  const retryAt = retry
    ? Math.max(now + retryBackoffMs(job.attempt, policy.retryBackoffMs, policy.retryBackoffMaxMs), policy.retryNotBefore ?? 0)
    : null;
  const ended = await tx.updateTable("jobs").set({
    ...attemptEnd(next, { ...outcome, state, reason, error }, now, retryAt),
    epoch: policy.revoke ? job.epoch + 1 : job.epoch,
  }).where("id", "=", job.id).returningAll().executeTakeFirstOrThrow();
  if (job.session_id !== null) {
    await tx.updateTable("sessions").set(sessionTurnEnd(next, outcome, now))
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
