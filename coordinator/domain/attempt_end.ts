import type { JsonObject } from "@bufbuild/protobuf";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import type { JobRow } from "../storage/db/rows.ts";
import { assertTransition } from "./job_states.ts";
import { isRetryable, retryBackoffMs, type RetryPolicy } from "./retry.ts";

/** How an attempt ended. */
export interface AttemptOutcome {
  state: JobState.SUCCEEDED | JobState.FAILED | JobState.CANCELLED;
  reason: FailureReason;
  error: string;
  exitCode: number | null;
  result: JsonObject | null;
  executorSessionId: string | null;
}

/** An ending the coordinator decides itself (a lost launcher, no match): no exit code, result or session. */
export function coordinatorFailure(reason: FailureReason, error: string): AttemptOutcome {
  return { state: JobState.FAILED, reason, error, exitCode: null, result: null, executorSessionId: null };
}

/** How an ended attempt is recorded. */
export interface Ending {
  /** The job's next state: how it ended, or RETRY_WAIT. */
  next: JobState;
  /** The outcome as recorded: a stop the coordinator asked for decides how a stopped attempt ends. */
  outcome: AttemptOutcome;
  /** When the next attempt may start; null when there is none. */
  retryAt: number | null;
}

/**
 * Decides how the end of a job's current attempt is recorded: the job ends,
 * or waits in RETRY_WAIT for its next attempt when the failure is retryable
 * and attempts remain. A job that was asked to stop is never retried, except
 * when it was stopped for its timeout and its policy retries timeouts.
 * `retryNotBefore` holds a retry back while the old attempt's process may
 * still run (a launcher taken over). Throws on a transition the job cannot make.
 */
export function attemptEnding(
  job: JobRow,
  reported: AttemptOutcome,
  policy: RetryPolicy & { now: number; retryNotBefore?: number },
): Ending {
  const outcome = { ...reported, ...stopAsked(job, reported) };
  const cancelRequested = job.state === JobState.CANCELLING && job.stop_reason !== FailureReason.TIMEOUT;
  const retry = outcome.state === JobState.FAILED && !cancelRequested &&
    isRetryable(outcome.reason, job.retry_job_failures === 1) && job.attempt < job.max_attempts;
  const next = retry ? JobState.RETRY_WAIT : outcome.state;
  assertTransition(job.id, job.state, next);
  const retryAt = retry ? Math.max(policy.now + retryBackoffMs(job.attempt, policy), policy.retryNotBefore ?? 0) : null;
  return { next, outcome, retryAt };
}

/** For a job that was asked to stop: the stop asked for decides how an attempt that did not succeed is recorded. */
function stopAsked(job: JobRow, reported: AttemptOutcome): Partial<AttemptOutcome> {
  if (job.state !== JobState.CANCELLING || reported.state === JobState.SUCCEEDED) return {};
  if (job.stop_reason === FailureReason.TIMEOUT) {
    return {
      state: JobState.FAILED,
      reason: FailureReason.TIMEOUT,
      error: reported.error || `attempt ${job.attempt} ran past its timeout of ${job.timeout_ms}ms and was stopped`,
    };
  }
  if (reported.reason === FailureReason.LAUNCHER_LOST) {
    return {
      state: JobState.CANCELLED,
      reason: FailureReason.CANCELLED,
      error: reported.error || "the launcher was lost while the job was being cancelled",
    };
  }
  return { state: JobState.CANCELLED, reason: FailureReason.CANCELLED };
}
