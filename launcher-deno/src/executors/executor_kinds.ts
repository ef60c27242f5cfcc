import type { JsonSchema } from "../config/json_schema.ts";
import { claudePermissionModes } from "./claude_code_rules.ts";

/**
 * How an executor profile runs: `claude-code` runs Claude Code's CLI,
 * `command` runs any program that speaks the executor contract (payload on
 * stdin, NDJSON on stdout), `echo` answers in-process.
 */
export type ExecutorKind = "claude-code" | "command" | "echo";

export const executorKinds: readonly ExecutorKind[] = ["claude-code", "command", "echo"];

/**
 * The parameters Claude Code turns accept unless a profile says otherwise.
 * The permission mode may be any Claude knows; the profile's allowlists
 * (claude_code_rules.ts) then decide what this host lets a job use.
 */
export const claudeCodeParametersSchema: JsonSchema = Object.freeze<JsonSchema>({
  type: "object",
  properties: {
    prompt: { type: "string", minLength: 1, description: "The prompt, written to claude's stdin." },
    model: { type: "string", minLength: 1, description: "Passed as --model=<model>." },
    allowedTools: {
      type: "array",
      items: { type: "string", minLength: 1 },
      description: "Each rule passed as --allowedTools=<rule>.",
    },
    permissionMode: {
      type: "string",
      enum: [...claudePermissionModes],
      description: "Passed as --permission-mode=<mode>.",
    },
    maxTurns: { type: "integer", minimum: 1, description: "Passed as --max-turns=<n>." },
  },
  required: ["prompt"],
  additionalProperties: false,
});

/** The parameters the echo executor accepts unless a profile says otherwise. */
export const echoParametersSchema: JsonSchema = Object.freeze<JsonSchema>({
  type: "object",
  properties: {
    prompt: { type: "string", minLength: 1, description: "The text to answer." },
    delayMs: { type: "integer", minimum: 0, maximum: 3_600_000, description: "Wait this long before answering." },
  },
  required: ["prompt"],
  additionalProperties: false,
});

/** The schema a profile of `kind` validates parameters with when it names none. */
export function defaultParametersSchema(kind: ExecutorKind): JsonSchema | undefined {
  if (kind === "claude-code") return claudeCodeParametersSchema;
  if (kind === "echo") return echoParametersSchema;
  return undefined;
}
