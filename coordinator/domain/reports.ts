import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import type { JobRow } from "../storage/db/rows.ts";
import { failedPrecondition, invalidArgument } from "./errors.ts";

/** Failure reasons a launcher may report; the others are the coordinator's to decide. */
const reportableReasons: readonly FailureReason[] = [
  FailureReason.EXIT_NONZERO,
  FailureReason.EXECUTOR_ERROR,
  FailureReason.TIMEOUT,
  FailureReason.LAUNCHER_LOST,
  FailureReason.AGENT_API_ERROR,
];

/** The ending a launcher reports, with the reason it stands for; INVALID_ARGUMENT for one it may not report. */
export function reportedEnding(
  state: JobState,
  failureReason: FailureReason,
): { state: JobState.SUCCEEDED | JobState.FAILED | JobState.CANCELLED; reason: FailureReason } {
  switch (state) {
    case JobState.SUCCEEDED:
      return { state, reason: FailureReason.UNSPECIFIED };
    case JobState.CANCELLED:
      return { state, reason: FailureReason.CANCELLED };
    case JobState.FAILED:
      if (!reportableReasons.includes(failureReason)) {
        throw invalidArgument(
          "a FAILED report needs failureReason FAILURE_REASON_EXIT_NONZERO, _EXECUTOR_ERROR, _TIMEOUT, _LAUNCHER_LOST or _AGENT_API_ERROR",
        );
      }
      return { state, reason: failureReason };
    default:
      throw invalidArgument("state must be JOB_STATE_SUCCEEDED, JOB_STATE_FAILED or JOB_STATE_CANCELLED");
  }
}

/** A report on one attempt: who sends it, for which job, under which fencing token's epoch. */
export interface AttemptReport {
  launcherId: string;
  jobId: string;
  /** The epoch the report's fencing token stands for (FencingTokens.epochOf). */
  epoch: number;
}

/**
 * The job already ended, or waits for a retry, because of this very
 * attempt's report of the same kind of ending (a retry after a lost answer).
 */
export function isSameReport(job: JobRow, report: AttemptReport, state: JobState): boolean {
  if (job.launcher_id !== report.launcherId || job.epoch !== report.epoch) return false;
  if (state === JobState.SUCCEEDED) return job.state === JobState.SUCCEEDED;
  return [JobState.FAILED, JobState.CANCELLED, JobState.RETRY_WAIT].includes(job.state);
}

/**
 * Refuses an ending the job cannot take: CANCELLED when no one asked it to
 * stop, or a report that names an event offset the job has not reached.
 */
export function checkEnding(job: JobRow, state: JobState, nextEventOffset: number | null): void {
  if (state === JobState.CANCELLED && job.state !== JobState.CANCELLING) {
    throw failedPrecondition(
      `job "${job.id}" was not asked to stop, so it cannot end CANCELLED; report JOB_STATE_FAILED with a ` +
        "failureReason (FAILURE_REASON_LAUNCHER_LOST when the launcher itself is going away)",
    );
  }
  if (nextEventOffset !== null && nextEventOffset !== job.next_event_offset) {
    throw failedPrecondition(
      `job "${job.id}" has events up to offset ${job.next_event_offset}, not ${nextEventOffset}; ` +
        `append the events from offset ${job.next_event_offset} before finishing`,
    );
  }
}
