import type { ExecutorProfile } from "../config/config.ts";
import type { SubprocessSpec } from "../host/subprocess.ts";
import { claudeCodeCommand } from "./claude_code_command.ts";
import { startEcho } from "./echo_executor.ts";
import type { ExecutorProcess } from "./executor_process.ts";
import { type JobPayload, payloadLine } from "./job_payload.ts";

/** Starts a subprocess; spawnSubprocess in the launcher. */
export type Spawn = (spec: SubprocessSpec) => ExecutorProcess;

/**
 * Starts `profile` on `payload`: Claude Code with the prompt on stdin, a
 * `command` executor with the JSON payload on stdin, or the in-process echo.
 * The child sees only `env` (the profile's variables, read from the host).
 * Throws when the executor cannot start.
 */
export function startExecutor(
  profile: ExecutorProfile,
  payload: JobPayload,
  deps: { spawn: Spawn; env: Readonly<Record<string, string>> },
): ExecutorProcess {
  switch (profile.kind) {
    case "echo":
      return startEcho(payload);
    case "claude-code": {
      const { argv, stdin } = claudeCodeCommand(profile.argv, payload, profile.claudeCode?.defaults);
      return deps.spawn({ argv, cwd: payload.projectDir, env: deps.env, stdin });
    }
    case "command":
      return deps.spawn({ argv: profile.argv, cwd: payload.projectDir, env: deps.env, stdin: payloadLine(payload) });
  }
}

/** What `profile` gives its executor: its fixed values (setEnv), and the subset of `hostEnv` it passes through by name. */
export function profileEnv(
  profile: ExecutorProfile,
  hostEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { ...profile.setEnv };
  for (const name of profile.env) {
    if (hostEnv[name] !== undefined) env[name] = hostEnv[name];
  }
  return env;
}
