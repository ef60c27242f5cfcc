import { FailureReason } from "../../gen/tether/v1/job_pb.ts";

/** How long failed attempts wait before the next one. */
export interface RetryPolicy {
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

/** Infrastructure failures (a model API's passing failures among them) are retried by default; a job's own only when it asks. */
export function isRetryable(reason: FailureReason, retryJobFailures: boolean): boolean {
  switch (reason) {
    case FailureReason.LAUNCHER_LOST:
    case FailureReason.OFFER_EXPIRED:
    case FailureReason.AGENT_API_ERROR:
      return true;
    case FailureReason.EXIT_NONZERO:
    case FailureReason.EXECUTOR_ERROR:
    case FailureReason.TIMEOUT:
      return retryJobFailures;
    default:
      return false;
  }
}

/**
 * The wait after failure number `failures` (from 1): the base doubled per
 * failure, capped, with "equal jitter" (half fixed, half random) so that
 * what failed together does not come back together.
 */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

/** The wait before attempt `attempt + 1` of a job. */
export function retryBackoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  return backoffMs(attempt, policy.retryBackoffMs, policy.retryBackoffMaxMs, random);
}
