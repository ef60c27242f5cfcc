import { type ClaudeCodeDefaults, ownParameter, sessionIdRefusal } from "./claude_code_rules.ts";
import type { JobPayload } from "./job_payload.ts";

/**
 * The command line and stdin for one Claude Code turn: `claude -p
 * --output-format stream-json --verbose`, `--resume=<id>` for a resume, the
 * prompt on stdin. `base` is the profile's program and fixed arguments.
 *
 * Every value from the job rides in the same argument as its flag
 * (`--flag=value`): claude's `--allowedTools` is variadic, so a tool given as
 * an argument of its own after it, such as `--settings={...}`, would be read as
 * a flag of its own; and `--resume` takes a session name too, so the id must
 * be checked to be a UUID. Throws when a resume has no usable session id.
 * The model, permission mode and max turns a job leaves out come from the
 * profile's `defaults`.
 */
export function claudeCodeCommand(
  base: readonly string[],
  payload: JobPayload,
  defaults: ClaudeCodeDefaults = {},
): { argv: string[]; stdin: string } {
  const argv = [...base, "-p", "--output-format", "stream-json", "--verbose"];
  const refusal = sessionIdRefusal(payload);
  if (refusal) throw new Error(refusal);
  if (payload.mode === "resume") argv.push(`--resume=${payload.executorSessionId}`);
  const p = payload.parameters;
  const model = ownParameter(p, "model") ?? defaults.model;
  if (typeof model === "string") argv.push(`--model=${model}`);
  const tools = ownParameter(p, "allowedTools");
  if (Array.isArray(tools)) {
    for (const tool of tools) if (typeof tool === "string") argv.push(`--allowedTools=${tool}`);
  }
  const mode = ownParameter(p, "permissionMode") ?? defaults.permissionMode;
  if (typeof mode === "string") argv.push(`--permission-mode=${mode}`);
  const turns = ownParameter(p, "maxTurns") ?? defaults.maxTurns;
  if (typeof turns === "number") argv.push(`--max-turns=${turns}`);
  const prompt = ownParameter(p, "prompt");
  return { argv, stdin: typeof prompt === "string" ? prompt : "" };
}
