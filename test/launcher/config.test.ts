import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ExecutorProfile, parseLauncherConfig } from "../../launcher-deno/src/config/config.ts";
import { configRefusal } from "../support/launcher_fixtures.ts";

const path = "/etc/tether/launcher.json";
const minimal = {
  coordinator: "http://127.0.0.1:7070",
  name: "build-box",
  projectRoots: ["/srv/repos"],
  executors: { echo: { kind: "echo" } },
};

function parse(overrides: Record<string, unknown>) {
  return parseLauncherConfig(JSON.stringify({ ...minimal, ...overrides }), path, { os: "linux" });
}

function refusal(overrides: Record<string, unknown>): string {
  return configRefusal(() => parse(overrides));
}

describe("the launcher config", () => {
  it("compiles into a frozen config with milliseconds, absolute paths and defaults", () => {
    const config = parse({
      labels: { gpu: "true" },
      maxConcurrency: 4,
      projectRoots: ["/srv/repos", "work/../scratch"],
      tokenEnv: "TETHER_TOKEN",
      executors: {
        echo: { kind: "echo" },
        "claude-code": { kind: "claude-code", env: ["HOME", "PATH", "HOME"], grace: { interrupt: "3s" }, timeout: "1h" },
        lint: { kind: "command", argv: ["./bin/lint", "--json"], env: ["PATH"], parametersSchema: { type: "object" } },
      },
    });
    expect(config).toMatchObject({
      configPath: path,
      coordinatorUrl: "http://127.0.0.1:7070",
      coordinatorAddress: "127.0.0.1:7070",
      labels: { gpu: "true" },
      maxConcurrency: 4,
      projectRoots: ["/srv/repos", "/etc/tether/scratch"],
      tokenEnv: "TETHER_TOKEN",
      killCommand: "kill",
      output: { maxBytes: 16 * 1024 * 1024, maxEventBytes: 1024 * 1024, stderrTailBytes: 8 * 1024 },
    });
    const [echo, claude, lint] = config.executors as [ExecutorProfile, ExecutorProfile, ExecutorProfile];
    expect(echo).toMatchObject({ name: "echo", kind: "echo", argv: [], env: [] });
    expect(claude).toMatchObject({
      argv: ["claude"],
      env: ["HOME", "PATH"],
      interruptGraceMs: 3_000,
      terminateGraceMs: 5_000,
      timeoutMs: 3_600_000,
    });
    expect(claude.parametersSchema?.required).toEqual(["prompt"]);
    expect(lint.argv).toEqual(["/etc/tether/bin/lint", "--json"]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(claude.env)).toBe(true);
  });

  it("fills in the default port so the network permission names host:port exactly", () => {
    expect(parse({ coordinator: "https://tether.example.com/" }).coordinatorAddress).toBe("tether.example.com:443");
    expect(parse({ coordinator: "http://[::1]:9000" }).coordinatorAddress).toBe("[::1]:9000");
  });

  it("uses taskkill to stop process trees on Windows", () => {
    const config = parseLauncherConfig(JSON.stringify(minimal), path, { os: "windows" });
    expect(config.killCommand).toBe("taskkill");
  });

  it("names the field at fault", () => {
    expect(refusal({ coordinator: "ftp://x" })).toBe(`${path}: coordinator must use http: or https:; got "ftp:"`);
    expect(refusal({ name: "has space" })).toContain(`${path}: name must be 1-63 letters`);
    expect(refusal({ maxConcurrency: 0 })).toBe(`${path}: maxConcurrency must be a whole number from 1 to 1000; got 0`);
    expect(refusal({ projectRoots: [] })).toBe(`${path}: projectRoots must list at least one directory that jobs may run in`);
    expect(refusal({ executors: {} })).toBe(`${path}: executors must define at least one executor profile`);
    expect(refusal({ executor: {} })).toContain(`has an unknown field "executor"`);
    expect(refusal({ executors: { x: { kind: "shell" } } })).toBe(
      `${path}: executors.x.kind must be one of claude-code, command, echo; got "shell"`,
    );
    expect(refusal({ executors: { x: { kind: "command" } } })).toBe(`${path}: executors.x.argv must be an array of strings`);
    expect(refusal({ executors: { x: { kind: "echo", argv: ["y"] } } })).toBe(
      `${path}: executors.x.argv does not apply: echo runs in-process`,
    );
    expect(refusal({ executors: { x: { kind: "claude-code", timeout: "soon" } } })).toBe(
      `${path}: executors.x.timeout must be a duration such as "10s", "1500ms" or "5m"; got "soon"`,
    );
    expect(refusal({ executors: { x: { kind: "claude-code", env: ["LD_PRELOAD"] } } })).toContain(
      '"LD_PRELOAD" cannot be passed to executors',
    );
    expect(refusal({ executors: { x: { kind: "claude-code", env: ["A-B"] } } })).toBe(
      `${path}: executors.x.env[0] must be an environment variable name; got "A-B"`,
    );
    expect(refusal({ executors: { x: { kind: "command", argv: ["t"], parametersSchema: { oneOf: [] } } } })).toContain(
      'executors.x.parametersSchema uses the keyword "oneOf", which the launcher does not support',
    );
    expect(refusal({ output: { maxBytes: 2048, maxEventBytes: 4096 } })).toContain("output.maxEventBytes (4096) must not exceed");
  });

  it("sets fixed environment values for a profile (setEnv), refusing loader variables and a name also passed from the host", () => {
    const [claude] = parse({
      executors: { c: { kind: "claude-code", env: ["HOME"], setEnv: { CLAUDE_CODE_MAX_RETRIES: "2", DISABLE_TELEMETRY: "1" } } },
    }).executors;
    expect(claude!.setEnv).toEqual({ CLAUDE_CODE_MAX_RETRIES: "2", DISABLE_TELEMETRY: "1" });
    expect(Object.isFrozen(claude!.setEnv)).toBe(true);
    expect(refusal({ executors: { c: { kind: "claude-code", setEnv: { LD_PRELOAD: "/x.so" } } } })).toContain(
      '"LD_PRELOAD" cannot be passed to executors',
    );
    expect(refusal({ executors: { c: { kind: "claude-code", setEnv: { N: 2 } } } })).toBe(`${path}: executors.c.setEnv.N must be a non-empty string`);
    expect(refusal({ executors: { c: { kind: "claude-code", setEnv: ["N=2"] } } })).toBe(
      `${path}: executors.c.setEnv must be an object of variable names to string values`,
    );
    expect(refusal({ executors: { c: { kind: "claude-code", env: ["HOME"], setEnv: { HOME: "/tmp" } } } })).toBe(
      `${path}: executors.c.setEnv.HOME: HOME is also passed from the host by "env"; keep one`,
    );
    expect(refusal({ executors: { e: { kind: "echo", setEnv: { A: "1" } } } })).toBe(
      `${path}: executors.e.setEnv does not apply: echo runs in-process`,
    );
  });

  it("turns a claude-code profile's agent fields into the CLI's arguments, and refuses them elsewhere", () => {
    const [agent] = parse({
      executors: {
        a: { kind: "claude-code", command: "/opt/claude", appendSystemPrompt: "Be brief, say \"why\".", includePartialMessages: true },
      },
    }).executors;
    expect(agent!.argv).toEqual(["/opt/claude", '--append-system-prompt=Be brief, say "why".', "--include-partial-messages"]);
    const [own] = parse({ executors: { a: { kind: "claude-code", command: "/opt/claude", systemPrompt: "You are a linter." } } }).executors;
    expect(own!.argv).toEqual(["/opt/claude", "--system-prompt=You are a linter."]);
    expect(refusal({ executors: { a: { kind: "claude-code", systemPrompt: "x", appendSystemPrompt: "y" } } })).toBe(
      `${path}: executors.a: systemPrompt replaces Claude Code's own and appendSystemPrompt adds to it; give one`,
    );
    expect(refusal({ executors: { c: { kind: "command", argv: ["t"], systemPrompt: "x" } } })).toBe(
      `${path}: executors.c.systemPrompt applies to kind "claude-code" only, not "command"`,
    );
  });

  it("gives a claude-code profile MCP servers, from a file beside the config or inline, only those when strict", () => {
    const [file] = parse({ executors: { a: { kind: "claude-code", command: "/opt/claude", mcpConfig: "mcp/servers.json", strictMcpConfig: true } } })
      .executors;
    expect(file!.argv).toEqual(["/opt/claude", "--mcp-config=/etc/tether/mcp/servers.json", "--strict-mcp-config"]);
    const servers = { mcpServers: { docs: { command: "docs-mcp", args: ["--stdio"] } } };
    const [inline] = parse({ executors: { a: { kind: "claude-code", command: "/opt/claude", mcpConfig: servers } } }).executors;
    expect(inline!.argv).toEqual(["/opt/claude", `--mcp-config=${JSON.stringify(servers)}`]);
    expect(refusal({ executors: { a: { kind: "claude-code", mcpConfig: { docs: {} } } } })).toBe(
      `${path}: executors.a.mcpConfig must be a file's path or an object {"mcpServers": {...}}`,
    );
    expect(refusal({ executors: { a: { kind: "claude-code", strictMcpConfig: true } } })).toBe(
      `${path}: executors.a.strictMcpConfig needs mcpConfig: it names the only MCP servers`,
    );
  });

  it("accepts the example config shipped with the launcher", () => {
    const example = join(import.meta.dirname, "../../launcher-deno/launcher.example.json");
    const config = parseLauncherConfig(readFileSync(example, "utf8"), example, { os: "linux" });
    expect(config.executors.map((profile) => [profile.name, profile.optional])).toEqual([["echo", false], ["claude-code", true]]);
    expect(config.projectRoots).toEqual([join(import.meta.dirname, "../..")]);
  });

  it("refuses text that is not JSON, saying where the file is", () => {
    expect(() => parseLauncherConfig("{", path)).toThrow(`${path} is not valid JSON`);
  });
});
