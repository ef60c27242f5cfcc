import { ConfigError, string, stringArray } from "../config/config_fields.ts";
import { claudeCodeAgentFields } from "./claude_code_agent.ts";
import type { JobPayload } from "./job_payload.ts";

// What a claude-code job may ask of this host. The job's parameters come from
// whoever may create jobs; the profile is the host owner's word on how far
// they reach (permission mode, model, pre-approved tools), and a job that asks
// for more is refused before anything runs.

/** The `--permission-mode` values Claude Code accepts (CLI 2.1.x; "manual" is only an alias of "default"). */
export const claudePermissionModes: readonly string[] = Object.freeze([
  "default",
  "acceptEdits",
  "plan",
  "dontAsk",
  "auto",
  "bypassPermissions",
]);

/**
 * The modes a profile allows when it names none: those in which anything past
 * reading, and editing in the project dir (acceptEdits), needs an approval
 * that print mode never gives, so only rules the host's settings or the job's
 * allowedTools pre-approve run. `auto` lets a classifier approve shell
 * commands and network access and `bypassPermissions` approves everything; a
 * host owner opts into those by listing them.
 */
export const defaultPermissionModes: readonly string[] = Object.freeze(["default", "acceptEdits", "plan", "dontAsk"]);

/** A claude-code profile's limits on job parameters; an absent list allows any value. */
export interface ClaudeCodeRules {
  readonly permissionModes: readonly string[];
  readonly models?: readonly string[];
  readonly allowedTools?: readonly string[];
  /** The most turns a job may ask for (absent: any). */
  readonly maxTurns?: number;
  /** What a job gets for a parameter it does not set. */
  readonly defaults: ClaudeCodeDefaults;
}

/** A claude-code profile's values for the parameters a job leaves out. */
export interface ClaudeCodeDefaults {
  readonly model?: string;
  readonly permissionMode?: string;
  readonly maxTurns?: number;
}

/** The profile fields that only kind claude-code takes. */
export const claudeCodeRuleFields = [
  "allowedPermissionModes",
  "allowedModels",
  "allowedTools",
  "maxTurns",
  "defaultModel",
  "defaultPermissionMode",
  "defaultMaxTurns",
] as const;

/** Reads a claude-code profile's rule fields; throws ConfigError naming the field at fault. */
export function parseClaudeCodeRules(raw: Record<string, unknown>, at: string): ClaudeCodeRules {
  const list = (field: string) =>
    raw[field] === undefined ? undefined : unique(stringArray(raw[field], `${at}.${field}`));
  const modes = list("allowedPermissionModes") ?? defaultPermissionModes;
  for (const [i, mode] of modes.entries()) {
    if (!claudePermissionModes.includes(mode)) {
      throw new ConfigError(
        `${at}.allowedPermissionModes[${i}] must be one of ${claudePermissionModes.join(", ")}; got "${mode}"`,
      );
    }
  }
  const rules = {
    permissionModes: modes,
    models: list("allowedModels"),
    allowedTools: list("allowedTools"),
    maxTurns: raw.maxTurns === undefined ? undefined : turns(raw.maxTurns, `${at}.maxTurns`),
  };
  const defaults: ClaudeCodeDefaults = {
    model: raw.defaultModel === undefined ? undefined : string(raw.defaultModel, `${at}.defaultModel`),
    permissionMode: raw.defaultPermissionMode === undefined
      ? undefined
      : string(raw.defaultPermissionMode, `${at}.defaultPermissionMode`),
    maxTurns: raw.defaultMaxTurns === undefined ? undefined : turns(raw.defaultMaxTurns, `${at}.defaultMaxTurns`),
  };
  // A default is what a job gets without asking: it must be what a job may ask for.
  const refusals = claudeCodeRefusals({ ...rules, defaults: {} }, {
    ...(defaults.model === undefined ? {} : { model: defaults.model }),
    ...(defaults.permissionMode === undefined ? {} : { permissionMode: defaults.permissionMode }),
    ...(defaults.maxTurns === undefined ? {} : { maxTurns: defaults.maxTurns }),
  });
  if (refusals.length > 0) {
    throw new ConfigError(
      `${at}: a default must be allowed by the profile itself: ${refusals.join("; ").replaceAll("parameters.", "")}`,
    );
  }
  return { ...rules, defaults };
}

function turns(value: unknown, at: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new ConfigError(`${at} must be a whole number of at least 1; got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** Refuses the claude-code rule fields on a profile of another kind. */
export function refuseClaudeCodeRules(raw: Record<string, unknown>, at: string, kind: string): void {
  for (const field of [...claudeCodeRuleFields, ...claudeCodeAgentFields]) {
    if (raw[field] !== undefined) {
      throw new ConfigError(`${at}.${field} applies to kind "claude-code" only, not "${kind}"`);
    }
  }
}

/** Claude Code's session ids are UUIDs; anything else must not reach its command line. */
export function isClaudeSessionId(value: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);
}

/** Why a resume cannot pass its session id to claude; undefined when it can (or it is no resume). */
export function sessionIdRefusal(
  payload: Pick<JobPayload, "mode" | "jobId" | "executorSessionId">,
): string | undefined {
  if (payload.mode !== "resume") return undefined;
  if (payload.executorSessionId === "") {
    return `Cannot resume job "${payload.jobId}": the session has no Claude session id (its first turn never reported one)`;
  }
  if (!isClaudeSessionId(payload.executorSessionId)) {
    // The id is not echoed: it is not Claude's, and it may be crafted.
    return `Cannot resume job "${payload.jobId}": the session's Claude session id is not a UUID, so it is not passed to claude`;
  }
  return undefined;
}

/**
 * Throws when a claude-code job asks for more than its profile allows (the
 * message says what this host allows), or resumes with an id that is not
 * Claude's. Does nothing for a profile without rules (another kind).
 */
export function checkClaudeCodeJob(
  profile: { readonly name: string; readonly claudeCode?: ClaudeCodeRules },
  payload: Pick<JobPayload, "mode" | "jobId" | "executorSessionId" | "parameters">,
): void {
  if (!profile.claudeCode) return;
  const refusals = claudeCodeRefusals(profile.claudeCode, payload.parameters);
  if (refusals.length > 0) {
    throw new Error(
      `The job asks for more than executor "${profile.name}" allows on this host: ${refusals.join("; ")}`,
    );
  }
  const resume = sessionIdRefusal(payload);
  if (resume) throw new Error(resume);
}

/**
 * Every way `parameters` ask for more than `rules` allow, each saying what
 * this host allows; empty when they fit. Reads own properties only, as the
 * command line does, so nothing inherited is checked or passed.
 */
export function claudeCodeRefusals(rules: ClaudeCodeRules, parameters: object): string[] {
  const refusals: string[] = [];
  const p = parameters;
  const mode = ownParameter(p, "permissionMode");
  if (mode !== undefined) {
    if (typeof mode !== "string" || !rules.permissionModes.includes(mode)) {
      refusals.push(
        `parameters.permissionMode: ${shown(mode)} is not allowed here (allowed: ${rules.permissionModes.join(", ")})`,
      );
    }
  }
  const model = ownParameter(p, "model");
  if (model !== undefined) {
    if (typeof model !== "string") refusals.push(`parameters.model: must be a string, got ${shown(model)}`);
    else if (rules.models && !rules.models.includes(model)) {
      refusals.push(`parameters.model: ${shown(model)} is not allowed here (allowed: ${listed(rules.models)})`);
    }
  }
  const tools = ownParameter(p, "allowedTools");
  if (tools !== undefined) {
    if (!Array.isArray(tools) || !tools.every((tool) => typeof tool === "string")) {
      refusals.push("parameters.allowedTools: must be an array of strings");
    } else if (rules.allowedTools) {
      const allowed = rules.allowedTools;
      for (const [i, tool] of tools.entries()) {
        if (!allowed.includes(tool)) {
          refusals.push(
            `parameters.allowedTools[${i}]: ${shown(tool)} is not allowed here (allowed: ${listed(allowed)})`,
          );
        }
      }
    }
  }
  const turns = ownParameter(p, "maxTurns");
  if (turns !== undefined && !(Number.isSafeInteger(turns) && (turns as number) >= 1)) {
    refusals.push(`parameters.maxTurns: must be a whole number of at least 1, got ${shown(turns)}`);
  } else if (turns !== undefined && rules.maxTurns !== undefined && (turns as number) > rules.maxTurns) {
    refusals.push(`parameters.maxTurns: ${shown(turns)} is more than allowed here (at most ${rules.maxTurns})`);
  }
  return refusals;
}

/** A parameter the job itself set, never one inherited from a prototype. */
export function ownParameter(parameters: object, name: string): unknown {
  return Object.hasOwn(parameters, name) ? (parameters as Record<string, unknown>)[name] : undefined;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function listed(values: readonly string[]): string {
  return values.length === 0 ? "none" : values.join(", ");
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
