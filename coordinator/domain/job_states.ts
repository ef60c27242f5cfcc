import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { failedPrecondition } from "./errors.ts";

/** The states a job can leave to, from each state. Anything else is a bug or bad input. */
const transitions: Readonly<Record<JobState, readonly JobState[]>> = {
  [JobState.UNSPECIFIED]: [],
  [JobState.QUEUED]: [JobState.OFFERED, JobState.CANCELLED, JobState.FAILED],
  [JobState.OFFERED]: [JobState.RUNNING, JobState.QUEUED, JobState.CANCELLED],
  [JobState.RUNNING]: [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLING, JobState.RETRY_WAIT],
  [JobState.CANCELLING]: [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.RETRY_WAIT],
  [JobState.RETRY_WAIT]: [JobState.QUEUED, JobState.CANCELLED],
  [JobState.SUCCEEDED]: [],
  [JobState.FAILED]: [],
  [JobState.CANCELLED]: [],
};

export const terminalStates: readonly JobState[] = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED];
/** States in which a launcher holds the job, and so a concurrency slot. */
export const heldStates: readonly JobState[] = [JobState.OFFERED, JobState.RUNNING, JobState.CANCELLING];
/** States in which an attempt runs: accepted and not yet ended (reports on it are due). */
export const runningStates: readonly JobState[] = [JobState.RUNNING, JobState.CANCELLING];

export function isTerminal(state: JobState): boolean {
  return terminalStates.includes(state);
}

/** Throws FAILED_PRECONDITION when a job may not go from one state to the other. */
export function assertTransition(jobId: string, from: JobState, to: JobState): void {
  if (!transitions[from].includes(to)) {
    throw failedPrecondition(`job "${jobId}" cannot go from ${JobState[from]} to ${JobState[to]}`);
  }
}

/** A session's state follows the state of its latest turn. */
export function sessionStateFor(jobState: JobState): SessionState {
  switch (jobState) {
    case JobState.RUNNING:
    case JobState.CANCELLING:
      return SessionState.RUNNING;
    case JobState.SUCCEEDED:
      return SessionState.IDLE;
    case JobState.FAILED:
      return SessionState.FAILED;
    case JobState.CANCELLED:
      return SessionState.CANCELLED;
    default:
      return SessionState.PENDING;
  }
}
