import type { JobPayload } from "./job_payload.ts";

/**
 * The command line and stdin for one Claude Code turn: `claude -p
 * --output-format stream-json --verbose`, `--resume <id>` for a resume, the
 * prompt on stdin. `base` is the profile's program and fixed arguments.
 * Throws when a resume has no Claude session id to resume.
 */
export function claudeCodeCommand(base: readonly string[], payload: JobPayload): { argv: string[]; stdin: string } {
  const argv = [...base, "-p", "--output-format", "stream-json", "--verbose"];
  if (payload.mode === "resume") {
    if (!payload.executorSessionId) {
      throw new Error(
        `Cannot resume job "${payload.jobId}": the session has no Claude session id (its first turn never reported one)`,
      );
    }
    argv.push("--resume", payload.executorSessionId);
  }
  const p = payload.parameters;
  if (typeof p.model === "string") argv.push("--model", p.model);
  if (Array.isArray(p.allowedTools)) argv.push("--allowedTools", p.allowedTools.join(","));
  if (typeof p.permissionMode === "string") argv.push("--permission-mode", p.permissionMode);
  if (typeof p.maxTurns === "number") argv.push("--max-turns", String(p.maxTurns));
  return { argv, stdin: typeof p.prompt === "string" ? p.prompt : "" };
}
