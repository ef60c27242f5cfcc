import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { failedPrecondition } from "../errors.ts";
import type { JobRow } from "./rows.ts";

/**
 * Refuses a launcher's report on a job unless the launcher holds the job's
 * current attempt: same launcher, same fencing token, and a state in which
 * reports are due. The message says which of these failed.
 */
export function checkFencing(job: JobRow, launcherId: string, token: string, states: readonly JobState[]): void {
  if (job.launcher_id !== launcherId) {
    throw failedPrecondition(`job "${job.id}" is not held by launcher "${launcherId}"; stop running it`);
  }
  if (String(job.epoch) !== token) {
    throw failedPrecondition(
      `fencing token "${token}" of job "${job.id}" is stale: the job is ${JobState[job.state]} under ` +
        `token "${job.epoch}"; stop running it`,
    );
  }
  if (!states.includes(job.state)) {
    throw failedPrecondition(`job "${job.id}" is ${JobState[job.state]}; this report is no longer accepted`);
  }
}
