import { JobType } from "../../gen/tether/v1/job_pb.ts";

/** The job most coordinator tests create: a COMMAND for the echo executor, which a LauncherDriver offers by default. */
export const echoJob = Object.freeze({
  type: JobType.COMMAND,
  executor: "echo",
  projectDir: "/tmp",
  parameters: Object.freeze({ prompt: "hi" }),
});
