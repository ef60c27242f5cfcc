import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { failedPrecondition, permissionDenied } from "./errors.ts";
import type { JobRow } from "../storage/db/rows.ts";

/**
 * Refuses a launcher's report on a job unless the launcher holds the job's
 * current attempt: the job is this launcher's (else PERMISSION_DENIED), its
 * fencing token names the current attempt, and the job is in a state in
 * which reports are due (else FAILED_PRECONDITION). The message says which
 * failed, and never shows a token.
 */
export function checkFencing(job: JobRow, launcherId: string, epoch: number, states: readonly JobState[]): void {
  if (job.launcher_id !== launcherId) {
    throw permissionDenied(`job "${job.id}" is not held by this launcher ("${launcherId}"); stop running it`);
  }
  if (job.epoch !== epoch) {
    throw failedPrecondition(
      `the fencing token for job "${job.id}" is stale: the job is ${JobState[job.state]} under a newer attempt; ` +
        "stop running it",
    );
  }
  if (!states.includes(job.state)) {
    throw failedPrecondition(`job "${job.id}" is ${JobState[job.state]}; this report is no longer accepted`);
  }
}
