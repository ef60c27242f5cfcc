import { boolean, ConfigError, string } from "../config/config_fields.ts";

// What a claude-code profile fixes about the agent itself, as arguments of
// the CLI: the host owner's word, never the job's.

/** The profile fields that make agent arguments; kind claude-code only. */
export const claudeCodeAgentFields = ["systemPrompt", "appendSystemPrompt", "includePartialMessages"] as const;

/**
 * The CLI arguments a claude-code profile's agent fields stand for, each
 * value in the same argument as its flag (see claude_code_command.ts):
 * `systemPrompt` replaces Claude Code's own system prompt,
 * `appendSystemPrompt` adds to it (not both), and `includePartialMessages`
 * streams the model's answer as it is written (`stream_event` events).
 */
export function claudeCodeAgentArgs(raw: Record<string, unknown>, at: string): string[] {
  if (raw.systemPrompt !== undefined && raw.appendSystemPrompt !== undefined) {
    throw new ConfigError(`${at}: systemPrompt replaces Claude Code's own and appendSystemPrompt adds to it; give one`);
  }
  const args: string[] = [];
  if (raw.systemPrompt !== undefined) args.push(`--system-prompt=${string(raw.systemPrompt, `${at}.systemPrompt`)}`);
  if (raw.appendSystemPrompt !== undefined) {
    args.push(`--append-system-prompt=${string(raw.appendSystemPrompt, `${at}.appendSystemPrompt`)}`);
  }
  if (raw.includePartialMessages !== undefined && boolean(raw.includePartialMessages, `${at}.includePartialMessages`)) {
    args.push("--include-partial-messages");
  }
  return args;
}
