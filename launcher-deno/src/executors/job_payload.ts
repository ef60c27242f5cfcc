import type { JsonObject } from "@bufbuild/protobuf";
import { type Job, JobType } from "../../../gen/tether/v1/job_pb.ts";

/**
 * What an executor receives on stdin (version 1 of the executor contract).
 * Fields are only ever added; a breaking change bumps `version`.
 */
export interface JobPayload {
  readonly version: 1;
  readonly mode: "start" | "resume" | "command";
  readonly jobId: string;
  readonly attempt: number;
  /** The coordinator's session id ("ses_..."), empty for a command. */
  readonly sessionId: string;
  /** The executor's own session id to resume, empty when there is none. */
  readonly executorSessionId: string;
  readonly parameters: JsonObject;
  readonly projectDir: string;
}

const modes: Record<JobType, JobPayload["mode"] | undefined> = {
  [JobType.UNSPECIFIED]: undefined,
  [JobType.START_SESSION]: "start",
  [JobType.RESUME_SESSION]: "resume",
  [JobType.COMMAND]: "command",
};

/** The payload for `job`; `executorSessionId` comes from the offer. Throws for an unknown job type. */
export function jobPayload(job: Job, executorSessionId: string, projectDir: string): JobPayload {
  const mode = modes[job.type];
  if (!mode) throw new Error(`Cannot run job "${job.id}": its type ${job.type} is not start, resume or command`);
  return {
    version: 1,
    mode,
    jobId: job.id,
    attempt: job.attempt,
    sessionId: job.sessionId,
    executorSessionId,
    parameters: job.parameters ?? {},
    projectDir,
  };
}

/** The payload as the NDJSON line written to a `command` executor's stdin. */
export function payloadLine(payload: JobPayload): string {
  return JSON.stringify(payload) + "\n";
}
