import type { Job } from "../../../gen/tether/v1/job_pb.ts";
import type { ExecutorProfile, LauncherConfig } from "../config/config.ts";
import { validateJson } from "../config/json_schema.ts";
import { checkClaudeCodeJob } from "../executors/claude_code_rules.ts";
import { type JobPayload, jobPayload } from "../executors/job_payload.ts";
import { type DirectoryProbe, resolveProjectDir } from "../host/project_dir.ts";

/**
 * Checks an offered job against this launcher before anything runs: a profile
 * of its executor, parameters that fit the profile's schema and allowlists,
 * a project dir inside the roots, a resume id the executor may be given.
 * Returns the profile and the payload to run, or throws with the reason for
 * the job's record (reported as EXECUTOR_ERROR; clients read it).
 */
export async function checkJob(
  job: Job,
  options: { executorSessionId: string; config: LauncherConfig; probe: DirectoryProbe },
): Promise<{ profile: ExecutorProfile; payload: JobPayload }> {
  const { config, probe } = options;
  const profile = config.executors.find((p) => p.name === job.executor);
  if (!profile) {
    const offered = config.executors.map((p) => p.name).join(", ");
    throw new Error(`This launcher has no executor profile "${job.executor}" (it offers ${offered})`);
  }
  const parameters = job.parameters ?? {};
  const errors = profile.parametersSchema ? validateJson(profile.parametersSchema, parameters) : [];
  if (errors.length > 0) {
    throw new Error(`The parameters do not fit executor "${profile.name}": ${errors.join("; ")}`);
  }
  const projectDir = await resolveProjectDir(job.projectDir, config.projectRoots, probe);
  const payload = jobPayload(job, options.executorSessionId, projectDir);
  checkClaudeCodeJob(profile, payload);
  return { profile, payload };
}
