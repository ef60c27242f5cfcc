import { describe, expect, it } from "vitest";
import { claudeCodeCommand } from "../../launcher-deno/src/executors/claude_code_command.ts";
import {
  checkClaudeCodeJob,
  claudeCodeRefusals,
  claudePermissionModes,
  type ClaudeCodeRules,
  defaultPermissionModes,
  isClaudeSessionId,
} from "../../launcher-deno/src/executors/claude_code_rules.ts";
import { type ExecutorProfile, parseLauncherConfig } from "../../launcher-deno/src/config/config.ts";
import { claudeCodeParametersSchema } from "../../launcher-deno/src/executors/executor_kinds.ts";
import type { JobPayload } from "../../launcher-deno/src/executors/job_payload.ts";
import { configRefusal as refusalOf, jobPayload } from "../support/launcher_fixtures.ts";

const path = "/etc/tether/launcher.json";
const sessionId = "3f2b8c1e-9d4a-4e7b-8a6f-0c5d2e1b7a90";
const injected = '--settings={"hooks":{}}';

function profile(fields: Record<string, unknown> = {}): ExecutorProfile {
  const text = JSON.stringify({
    coordinator: "http://127.0.0.1:7070",
    name: "box",
    projectRoots: ["/srv/repos"],
    executors: { "claude-code": { kind: "claude-code", ...fields } },
  });
  return parseLauncherConfig(text, path, { os: "linux" }).executors[0]!;
}

function configRefusal(kind: string, fields: Record<string, unknown>): string {
  const base = kind === "command" ? { argv: ["x"] } : {};
  return refusalOf(() =>
    parseLauncherConfig(
      JSON.stringify({
        coordinator: "http://127.0.0.1:7070",
        name: "box",
        projectRoots: ["/srv"],
        executors: { x: { kind, ...base, ...fields } },
      }),
      path,
    )
  );
}

const payload = (overrides: Partial<JobPayload>) => jobPayload({ projectDir: "/srv/repos/a", ...overrides });

/** The message a job gets when its profile refuses it; undefined when it may run. */
function refusal(p: ExecutorProfile, job: Partial<JobPayload>): string | undefined {
  try {
    checkClaudeCodeJob(p, payload(job));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("a claude-code profile's allowlists", () => {
  it("default to the permission modes that ask before acting, without bypassPermissions or auto, and any model or tool", () => {
    const rules = profile().claudeCode!;
    expect(rules).toEqual({ permissionModes: ["default", "acceptEdits", "plan", "dontAsk"], defaults: {} });
    expect(rules.permissionModes).toBe(defaultPermissionModes);
    expect(Object.isFrozen(rules.permissionModes)).toBe(true);
  });

  it("are read from the profile, frozen, duplicates dropped", () => {
    const rules = profile({
      allowedPermissionModes: ["plan", "bypassPermissions", "plan"],
      allowedModels: ["sonnet"],
      allowedTools: ["Read", "Bash(git log:*)"],
    }).claudeCode!;
    expect(rules).toEqual({
      permissionModes: ["plan", "bypassPermissions"],
      models: ["sonnet"],
      allowedTools: ["Read", "Bash(git log:*)"],
      defaults: {},
    });
    expect(Object.isFrozen(rules.allowedTools)).toBe(true);
  });

  it("give a job's left-out model, permission mode and max turns from the profile's defaults, and cap its max turns", () => {
    const p = profile({
      allowedModels: ["sonnet", "opus"],
      defaultModel: "sonnet",
      defaultPermissionMode: "plan",
      defaultMaxTurns: 5,
      maxTurns: 20,
    });
    expect(p.claudeCode!.defaults).toEqual({ model: "sonnet", permissionMode: "plan", maxTurns: 5 });
    expect(claudeCodeCommand(["claude"], payload({ parameters: { prompt: "x" } }), p.claudeCode!.defaults).argv).toEqual([
      "claude", "-p", "--output-format", "stream-json", "--verbose", "--model=sonnet", "--permission-mode=plan", "--max-turns=5",
    ]);
    // What the job sets wins, within the profile's limits.
    expect(claudeCodeCommand(["claude"], payload({ parameters: { prompt: "x", model: "opus", maxTurns: 9 } }), p.claudeCode!.defaults).argv)
      .toEqual(["claude", "-p", "--output-format", "stream-json", "--verbose", "--model=opus", "--permission-mode=plan", "--max-turns=9"]);
    expect(refusal(p, { parameters: { prompt: "x", maxTurns: 21 } })).toContain("parameters.maxTurns: 21 is more than allowed here (at most 20)");
  });

  it("refuse a default the profile itself does not allow", () => {
    expect(configRefusal("claude-code", { allowedModels: ["opus"], defaultModel: "sonnet" })).toContain(
      'a default must be allowed by the profile itself: model: "sonnet" is not allowed here (allowed: opus)',
    );
    expect(configRefusal("claude-code", { maxTurns: 3, defaultMaxTurns: 4 })).toContain("maxTurns: 4 is more than allowed here (at most 3)");
    expect(configRefusal("claude-code", { defaultPermissionMode: "bypassPermissions" })).toContain(
      'permissionMode: "bypassPermissions" is not allowed here',
    );
    expect(configRefusal("claude-code", { maxTurns: 0 })).toContain("executors.x.maxTurns must be a whole number of at least 1; got 0");
    expect(configRefusal("command", { defaultModel: "sonnet" })).toContain('executors.x.defaultModel applies to kind "claude-code" only');
  });

  it("are refused with the field at fault when malformed, unknown to Claude, or on another kind", () => {
    expect(configRefusal("claude-code", { allowedPermissionModes: ["plan", "yolo"] })).toBe(
      `${path}: executors.x.allowedPermissionModes[1] must be one of ${claudePermissionModes.join(", ")}; got "yolo"`,
    );
    expect(configRefusal("claude-code", { allowedModels: "sonnet" })).toBe(
      `${path}: executors.x.allowedModels must be an array of strings`,
    );
    expect(configRefusal("claude-code", { allowedTools: ["Read", ""] })).toBe(
      `${path}: executors.x.allowedTools[1] must be a non-empty string`,
    );
    expect(configRefusal("command", { allowedTools: ["Read"] })).toBe(
      `${path}: executors.x.allowedTools applies to kind "claude-code" only, not "command"`,
    );
    expect(configRefusal("echo", { allowedPermissionModes: ["plan"] })).toBe(
      `${path}: executors.x.allowedPermissionModes applies to kind "claude-code" only, not "echo"`,
    );
  });

  it("match the built-in schema: its permissionMode enum is every mode Claude knows", () => {
    expect(claudeCodeParametersSchema.properties?.permissionMode?.enum).toEqual(claudePermissionModes);
    for (const mode of defaultPermissionModes) expect(claudePermissionModes).toContain(mode);
  });
});

describe("a job asking for more than its claude-code profile allows", () => {
  it("is refused for permissionMode bypassPermissions by a default profile, the message saying what the host allows", () => {
    expect(refusal(profile(), { parameters: { prompt: "x", permissionMode: "bypassPermissions" } })).toBe(
      'The job asks for more than executor "claude-code" allows on this host: parameters.permissionMode: ' +
        '"bypassPermissions" is not allowed here (allowed: default, acceptEdits, plan, dontAsk)',
    );
    expect(refusal(profile(), { parameters: { prompt: "x", permissionMode: "auto" } })).toContain('"auto" is not allowed');
    expect(refusal(profile(), { parameters: { prompt: "x", permissionMode: "plan" } })).toBeUndefined();
    const opted = profile({ allowedPermissionModes: ["bypassPermissions"] });
    expect(refusal(opted, { parameters: { prompt: "x", permissionMode: "bypassPermissions" } })).toBeUndefined();
  });

  it("is refused for allowedTools Bash(*) when the profile's tools allowlist leaves it out", () => {
    const p = profile({ allowedTools: ["Read", "Bash(git log:*)"] });
    expect(refusal(p, { parameters: { prompt: "x", allowedTools: ["Read", "Bash(*)"] } })).toBe(
      'The job asks for more than executor "claude-code" allows on this host: parameters.allowedTools[1]: ' +
        '"Bash(*)" is not allowed here (allowed: Read, Bash(git log:*))',
    );
    // Rules match whole strings: a comma or space cannot smuggle a second rule past the list.
    expect(refusal(p, { parameters: { prompt: "x", allowedTools: ["Read,Bash(*)"] } })).toContain('"Read,Bash(*)" is not allowed');
    expect(refusal(p, { parameters: { prompt: "x", allowedTools: ["Bash(git log:*)"] } })).toBeUndefined();
    expect(refusal(profile({ allowedTools: [] }), { parameters: { prompt: "x", allowedTools: ["Read"] } })).toContain(
      "(allowed: none)",
    );
  });

  it("is refused for a model outside the profile's models allowlist", () => {
    const p = profile({ allowedModels: ["sonnet", "haiku"] });
    expect(refusal(p, { parameters: { prompt: "x", model: "opus" } })).toContain(
      'parameters.model: "opus" is not allowed here (allowed: sonnet, haiku)',
    );
    expect(refusal(p, { parameters: { prompt: "x", model: "sonnet" } })).toBeUndefined();
    expect(refusal(profile(), { parameters: { prompt: "x", model: "opus" } })).toBeUndefined();
  });

  it("is refused for values of the wrong type that a profile's own schema let through", () => {
    const rules: ClaudeCodeRules = { permissionModes: defaultPermissionModes, defaults: {} };
    expect(claudeCodeRefusals(rules, { permissionMode: 1, model: ["a"], allowedTools: "Read", maxTurns: 0.5 })).toEqual([
      "parameters.permissionMode: 1 is not allowed here (allowed: default, acceptEdits, plan, dontAsk)",
      'parameters.model: must be a string, got ["a"]',
      "parameters.allowedTools: must be an array of strings",
      "parameters.maxTurns: must be a whole number of at least 1, got 0.5",
    ]);
  });

  it("cannot reach past the allowlists through an inherited property", () => {
    const parameters = Object.create({ permissionMode: "bypassPermissions", allowedTools: ["Bash(*)"] });
    parameters.prompt = "x";
    const p = profile({ allowedTools: ["Read"] });
    expect(refusal(p, { parameters })).toBeUndefined();
    expect(claudeCodeCommand(["claude"], payload({ parameters })).argv).toEqual([
      "claude",
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
    ]);
  });
});

describe("no job value becomes a flag of its own on claude's command line", () => {
  it("a tool or model beginning with '-' stays the value of its flag, in the same argument", () => {
    const { argv } = claudeCodeCommand(["claude"], payload({
      parameters: { prompt: "x", allowedTools: ["Read", injected], model: injected, permissionMode: injected },
    }));
    expect(argv.slice(5)).toEqual([
      `--model=${injected}`,
      "--allowedTools=Read",
      `--allowedTools=${injected}`,
      `--permission-mode=${injected}`,
    ]);
    expect(argv.some((arg) => arg.startsWith("--settings"))).toBe(false);
  });
});

describe("a resume's Claude session id", () => {
  it("must be a UUID", () => {
    expect(isClaudeSessionId(sessionId)).toBe(true);
    expect(isClaudeSessionId(sessionId.toUpperCase())).toBe(true);
    for (const bad of ["", "uuid-1", injected, `${sessionId} --settings={}`, `${sessionId}\n`, "my-session-name"]) {
      expect(isClaudeSessionId(bad)).toBe(false);
    }
  });

  it("passes as the single argument --resume=<id>", () => {
    const { argv } = claudeCodeCommand(["claude"], payload({ mode: "resume", executorSessionId: sessionId }));
    expect(argv.slice(5)).toEqual([`--resume=${sessionId}`]);
    expect(refusal(profile(), { mode: "resume", executorSessionId: sessionId })).toBeUndefined();
  });

  it('refuses --settings={"hooks":{}} with a clear message that does not repeat it, and never puts it in argv', () => {
    const job = { mode: "resume" as const, executorSessionId: injected };
    const message = 'Cannot resume job "job_1": the session\'s Claude session id is not a UUID, so it is not passed to claude';
    expect(refusal(profile(), job)).toBe(message);
    expect(() => claudeCodeCommand(["claude"], payload(job))).toThrow(message);
  });

  it("refuses a resume with none, and ignores the field when the job is no resume", () => {
    expect(refusal(profile(), { mode: "resume" })).toBe(
      'Cannot resume job "job_1": the session has no Claude session id (its first turn never reported one)',
    );
    expect(claudeCodeCommand(["claude"], payload({ mode: "start", executorSessionId: injected })).argv).not.toContain(
      injected,
    );
  });
});
