import { JobState } from "../../gen/tether/v1/job_pb.ts";

/** What a job's passed deadline means, by the state it is in. */
export type Expiry =
  /** An unaccepted offer goes back to the queue. */
  | "requeue-offer"
  /** A running attempt past its timeout is asked to stop. */
  | "stop-for-timeout"
  /** A retry wait ends: the job queues again. */
  | "end-retry-wait"
  /** A queued job that no live launcher matches fails NO_MATCHING_LAUNCHER. */
  | "fail-unmatched"
  /** A queued job that a live launcher matches (busy, say) waits another match timeout. */
  | "wait-again"
  /** Nothing is due in this state: the deadline is cleared. */
  | "clear";

/** What to do for a job whose deadline passed; `matched` says whether some live launcher could run it. */
export function expiryOf(state: JobState, matched: boolean): Expiry {
  switch (state) {
    case JobState.OFFERED:
      return "requeue-offer";
    case JobState.RUNNING:
      return "stop-for-timeout";
    case JobState.RETRY_WAIT:
      return "end-retry-wait";
    case JobState.QUEUED:
      return matched ? "wait-again" : "fail-unmatched";
    default:
      return "clear";
  }
}
