import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import type { CreateJobRequestSchema } from "../../gen/tether/v1/job_service_pb.ts";

/** A CreateJob request, as a client writes it. */
export type JobRequest = MessageInitShape<typeof CreateJobRequestSchema>;

/**
 * The job most tests and every tether benchmark create: a COMMAND for the
 * echo executor, which a LauncherDriver and the benchmark's launchers offer.
 */
export const echoJob = Object.freeze({
  type: JobType.COMMAND,
  executor: "echo",
  projectDir: "/tmp",
  parameters: Object.freeze({ prompt: "hi" }),
});

/** The echo job with other parameters. */
export function echoJobWith(parameters: JsonObject): JobRequest {
  return { ...echoJob, parameters };
}
