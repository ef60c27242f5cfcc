import { resolvePath } from "../host/paths.ts";
import { boolean, ConfigError, string } from "../config/config_fields.ts";

// What a claude-code profile fixes about the agent itself, as arguments of
// the CLI: the host owner's word, never the job's.

/** The profile fields that make agent arguments; kind claude-code only. */
export const claudeCodeAgentFields = [
  "systemPrompt",
  "appendSystemPrompt",
  "includePartialMessages",
  "mcpConfig",
  "strictMcpConfig",
] as const;

/**
 * The CLI arguments a claude-code profile's agent fields stand for, each
 * value in the same argument as its flag (see claude_code_command.ts):
 * `systemPrompt` replaces Claude Code's own system prompt,
 * `appendSystemPrompt` adds to it (not both), `includePartialMessages`
 * streams the model's answer as it is written (`stream_event` events),
 * `mcpConfig` gives MCP servers (a file, relative to the config's folder, or
 * the configuration itself, `{"mcpServers": {...}}`), and `strictMcpConfig`
 * makes them the only ones (no user or project MCP configuration).
 */
export function claudeCodeAgentArgs(raw: Record<string, unknown>, at: string, baseDir: string): string[] {
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
  if (raw.mcpConfig !== undefined) args.push(`--mcp-config=${mcpConfig(raw.mcpConfig, `${at}.mcpConfig`, baseDir)}`);
  if (raw.strictMcpConfig !== undefined && boolean(raw.strictMcpConfig, `${at}.strictMcpConfig`)) {
    if (raw.mcpConfig === undefined) {
      throw new ConfigError(`${at}.strictMcpConfig needs mcpConfig: it names the only MCP servers`);
    }
    args.push("--strict-mcp-config");
  }
  return args;
}

/** An MCP configuration as the CLI takes it: a file's absolute path, or the configuration as JSON text. */
function mcpConfig(value: unknown, at: string, baseDir: string): string {
  if (typeof value === "string") return resolvePath(baseDir, string(value, at));
  const servers = (value as { mcpServers?: unknown } | null)?.mcpServers;
  if (
    typeof value !== "object" || value === null || Array.isArray(value) || typeof servers !== "object" ||
    servers === null
  ) {
    throw new ConfigError(`${at} must be a file's path or an object {"mcpServers": {...}}`);
  }
  return JSON.stringify(value);
}
