import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { claudeCodeCommand } from "../../launcher-deno/src/executors/claude_code_command.ts";
import { backoffMs, within } from "../../launcher-deno/src/delay.ts";
import { claudeCodeParametersSchema } from "../../launcher-deno/src/executors/executor_kinds.ts";
import { attemptOutcome } from "../../launcher-deno/src/attempt/job_outcome.ts";
import { compileSchema, validateJson } from "../../launcher-deno/src/config/json_schema.ts";
import { resolveProjectDir } from "../../launcher-deno/src/host/project_dir.ts";
import { jobPayload } from "../support/launcher_fixtures.ts";

const payload = jobPayload;

describe("how an attempt's end is reported", () => {
  const ok = { type: "result", is_error: false, result: "done" };
  it("exit 0 with a result succeeds", () => {
    expect(attemptOutcome({ exit: { code: 0, signal: null }, result: ok, stderrTail: "" })).toEqual({
      state: JobState.SUCCEEDED,
      exitCode: 0,
      failureReason: FailureReason.UNSPECIFIED,
      error: "",
    });
  });

  it("a non-zero exit fails EXIT_NONZERO with the stderr tail", () => {
    expect(attemptOutcome({ exit: { code: 2, signal: null }, stderrTail: "boom" })).toMatchObject({
      state: JobState.FAILED,
      exitCode: 2,
      failureReason: FailureReason.EXIT_NONZERO,
      error: "The executor exited with code 2\nboom",
    });
  });

  it("a cancel the launcher acted on is CANCELLED whatever the exit code", () => {
    expect(attemptOutcome({ exit: { code: 130, signal: null }, stopCause: "cancel", stderrTail: "x" })).toMatchObject({
      state: JobState.CANCELLED,
      exitCode: 130,
      failureReason: FailureReason.CANCELLED,
    });
  });

  it("a stop that came after the executor finished its work (exit 0 after a successful result) loses to the completion", () => {
    for (const stopCause of ["cancel", "timeout", "shutdown"] as const) {
      expect(attemptOutcome({ exit: { code: 0, signal: null }, result: ok, stopCause, stderrTail: "" })).toEqual({
        state: JobState.SUCCEEDED,
        exitCode: 0,
        failureReason: FailureReason.UNSPECIFIED,
        error: "",
      });
    }
  });

  it("a timeout is FAILED TIMEOUT; a forced shutdown is FAILED LAUNCHER_LOST", () => {
    const killed = { code: 137, signal: "SIGKILL" };
    expect(attemptOutcome({ exit: killed, stopCause: "timeout", timeoutMs: 500, stderrTail: "" })).toMatchObject({
      failureReason: FailureReason.TIMEOUT,
      error: "The attempt ran past its timeout of 500ms and was stopped (was ended by SIGKILL (exit code 137))",
    });
    expect(attemptOutcome({ exit: killed, stopCause: "shutdown", stderrTail: "" })).toMatchObject({
      failureReason: FailureReason.LAUNCHER_LOST,
    });
  });

  it("exit 0 without a result, or with an error result, is an EXECUTOR_ERROR", () => {
    expect(attemptOutcome({ exit: { code: 0, signal: null }, stderrTail: "" })).toMatchObject({
      failureReason: FailureReason.EXECUTOR_ERROR,
      error: 'The executor exited 0 without writing its final {"type":"result"} event',
    });
    expect(attemptOutcome({ exit: { code: 0, signal: null }, result: { type: "result", is_error: true, result: "max turns" }, stderrTail: "" }))
      .toMatchObject({ failureReason: FailureReason.EXECUTOR_ERROR, error: "The executor reported an error result: max turns" });
  });

  it("an error result without text is told by its subtype, terminal reason, API status and errors", () => {
    const result = {
      type: "result",
      is_error: true,
      result: null,
      subtype: "error_during_execution",
      terminal_reason: "api_error",
      api_error_status: 400,
      errors: ["Bad request", { code: 7 }],
    };
    expect(attemptOutcome({ exit: { code: 1, signal: null }, result, stderrTail: "" })).toMatchObject({
      failureReason: FailureReason.EXIT_NONZERO,
      error: 'The executor exited with code 1\nerror_during_execution, terminal_reason: api_error, API status 400, errors: Bad request; {"code":7}',
    });
    expect(attemptOutcome({ exit: { code: 0, signal: null }, result: { ...result, api_error_status: undefined }, stderrTail: "" }))
      .toMatchObject({
        failureReason: FailureReason.EXECUTOR_ERROR,
        error: 'The executor reported an error result: error_during_execution, terminal_reason: api_error, errors: Bad request; {"code":7}',
      });
  });

  it("an error result of a model API's passing failure (overloaded, rate limited, 5xx) is AGENT_API_ERROR, which is retried", () => {
    for (const status of [429, 500, 503, 529]) {
      const result = { type: "result", is_error: true, result: `API Error: ${status}`, api_error_status: status };
      expect(attemptOutcome({ exit: { code: 1, signal: null }, result, stderrTail: "" })).toMatchObject({
        state: JobState.FAILED,
        failureReason: FailureReason.AGENT_API_ERROR,
        error: `The agent's model API answered ${status}, which passes: API Error: ${status}`,
      });
    }
    // A cancel still wins; a request the API refuses for good (400) is no passing failure.
    const overloaded = { type: "result", is_error: true, api_error_status: 529 };
    expect(attemptOutcome({ exit: { code: 1, signal: null }, result: overloaded, stopCause: "cancel", stderrTail: "" }).state)
      .toBe(JobState.CANCELLED);
    expect(attemptOutcome({ exit: { code: 1, signal: null }, result: { ...overloaded, api_error_status: 400 }, stderrTail: "" })
      .failureReason).toBe(FailureReason.EXIT_NONZERO);
  });

  it("a job that could not start is an EXECUTOR_ERROR with the reason", () => {
    expect(attemptOutcome({ startError: "no such profile", stderrTail: "" })).toEqual({
      state: JobState.FAILED,
      failureReason: FailureReason.EXECUTOR_ERROR,
      error: "no such profile",
    });
  });
});

describe("Claude Code's command line", () => {
  it("starts with -p, stream-json and --verbose, the prompt on stdin", () => {
    expect(claudeCodeCommand(["claude"], payload({}))).toEqual({
      argv: ["claude", "-p", "--output-format", "stream-json", "--verbose"],
      stdin: "hi",
    });
  });

  it("resumes with --resume=<id> and passes each optional parameter in the same argument as its flag", () => {
    const { argv } = claudeCodeCommand(["claude"], payload({
      mode: "resume",
      executorSessionId: "3f2b8c1e-9d4a-4e7b-8a6f-0c5d2e1b7a90",
      parameters: { prompt: "go", model: "opus", allowedTools: ["Read", "Bash(git log:*)"], permissionMode: "plan", maxTurns: 3 },
    }));
    expect(argv.slice(5)).toEqual([
      "--resume=3f2b8c1e-9d4a-4e7b-8a6f-0c5d2e1b7a90",
      "--model=opus",
      "--allowedTools=Read",
      "--allowedTools=Bash(git log:*)",
      "--permission-mode=plan",
      "--max-turns=3",
    ]);
  });

  it("refuses a resume without Claude's session id", () => {
    expect(() => claudeCodeCommand(["claude"], payload({ mode: "resume" }))).toThrow(
      'Cannot resume job "job_1": the session has no Claude session id',
    );
  });

  it("validates parameters against the built-in schema", () => {
    expect(validateJson(claudeCodeParametersSchema, { prompt: "x", maxTurns: 2 })).toEqual([]);
    expect(validateJson(claudeCodeParametersSchema, { maxTurns: 0, allowedTools: "Read" })).toEqual([
      "parameters.prompt: is required",
      "parameters.maxTurns: must be at least 1",
      "parameters.allowedTools: must be array, got string",
    ]);
  });
});

describe("parameter schemas", () => {
  it("cover types, enums, patterns, nested objects and arrays", () => {
    const schema = compileSchema({
      type: "object",
      properties: {
        branch: { type: "string", pattern: "^[a-z-]+$" },
        level: { enum: ["low", "high"] },
        files: { type: "array", items: { type: "string" }, maxItems: 2 },
        opts: { type: "object", additionalProperties: { type: "boolean" } },
      },
      additionalProperties: false,
    }, "schema");
    expect(validateJson(schema, { branch: "main", level: "low", files: ["a"], opts: { x: true } })).toEqual([]);
    expect(validateJson(schema, { branch: "Main!", level: "mid", files: ["a", "b", 3], opts: { x: 1 }, extra: 1 })).toEqual([
      "parameters.branch: must match /^[a-z-]+$/",
      'parameters.level: must be one of "low", "high"',
      "parameters.files: must have at most 2 items",
      "parameters.files[2]: must be string, got number",
      "parameters.opts.x: must be boolean, got number",
      "parameters.extra: is not allowed (allowed: branch, level, files, opts)",
    ]);
  });
});

describe("parameter schemas look at a value's own properties only", () => {
  const closed = compileSchema({ type: "object", properties: { prompt: { type: "string" } }, additionalProperties: false }, "schema");

  it("refuses names that live on Object.prototype when additionalProperties is false", () => {
    for (const name of ["constructor", "toString", "hasOwnProperty", "valueOf", "__proto__", "isPrototypeOf"]) {
      // JSON.parse, like a decoded request, makes "__proto__" an own property rather than the prototype.
      const value = JSON.parse(`{"prompt":"x",${JSON.stringify(name)}:{"a":1}}`);
      expect(validateJson(closed, value)).toEqual([`parameters.${name}: is not allowed (allowed: prompt)`]);
    }
  });

  it("does not count an inherited property as a required one", () => {
    const schema = compileSchema({ type: "object", required: ["constructor", "prompt"] }, "schema");
    expect(validateJson(schema, { prompt: "x" })).toEqual(["parameters.constructor: is required"]);
    const inherited = Object.create({ prompt: "from the prototype" }) as Record<string, unknown>;
    expect(validateJson(schema, inherited)).toContain("parameters.prompt: is required");
  });

  it("checks a property named like an Object.prototype member against its own schema", () => {
    const schema = compileSchema(JSON.parse('{"type":"object","properties":{"toString":{"type":"integer"}},"additionalProperties":false}'), "s");
    expect(validateJson(schema, { toString: 1 })).toEqual([]);
    expect(validateJson(schema, JSON.parse('{"toString":"x"}'))).toEqual(["parameters.toString: must be integer, got string"]);
  });

  it("keeps the built-in claude-code schema closed to them", () => {
    expect(validateJson(claudeCodeParametersSchema, JSON.parse('{"prompt":"x","__proto__":{"permissionMode":"bypassPermissions"}}')))
      .toEqual([expect.stringContaining("parameters.__proto__: is not allowed")]);
  });
});

describe("project dirs", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-roots-"));
  const allowed = join(root, "allowed");
  mkdirSync(join(allowed, "repo"), { recursive: true });
  mkdirSync(join(root, "secret"));
  symlinkSync(join(root, "secret"), join(allowed, "link-out"));
  const probe = { realPath: (p: string) => realpath(p), isDirectory: async (p: string) => (await stat(p)).isDirectory() };

  it("accepts a directory inside an allowed root and returns its real path", async () => {
    expect(await resolveProjectDir(join(allowed, "repo", "."), [allowed], probe)).toBe(await realpath(join(allowed, "repo")));
  });

  it("refuses paths outside the roots, as written or through a symlink", async () => {
    await expect(resolveProjectDir(join(allowed, "..", "secret"), [allowed], probe)).rejects.toThrow("is outside the launcher's allowed project roots");
    await expect(resolveProjectDir(join(allowed, "link-out"), [allowed], probe)).rejects.toThrow(
      `The project dir "${join(allowed, "link-out")}" resolves outside the launcher's allowed project roots (${allowed})`,
    );
    await expect(resolveProjectDir("repo", [allowed], probe)).rejects.toThrow('The project dir "repo" must be an absolute path');
    await expect(resolveProjectDir(join(allowed, "missing"), [allowed], probe)).rejects.toThrow("cannot be used");
  });

  it("tell the client neither where a link leads nor the file system's own error text", async () => {
    symlinkSync(join(root, "secret", "gone"), join(allowed, "dangling"));
    const refusal = async (dir: string) => {
      try {
        await resolveProjectDir(dir, [allowed], probe);
      } catch (err) {
        return err as Error;
      }
      throw new Error(`${dir} was accepted`);
    };
    const out = await refusal(join(allowed, "link-out"));
    const dangling = await refusal(join(allowed, "dangling"));
    expect(dangling.message).toBe(
      `The project dir "${join(allowed, "dangling")}" cannot be used: it does not exist (or a link in it leads nowhere)`,
    );
    for (const err of [out, dangling]) {
      expect(err.message).not.toContain("secret");
      expect(err.message).not.toContain("realpath");
    }
    // The launcher's log still gets the file system's account.
    expect(String(dangling.cause)).toContain("ENOENT");
  });
});

describe("waiting", () => {
  it("gives up on a wait at once when its signal has already aborted", async () => {
    const never = new Promise<never>(() => {});
    expect(await within(never, 60_000, AbortSignal.abort())).toBeUndefined();
    expect(await within(Promise.resolve("done"), 60_000)).toBe("done");
  });
});

describe("retry backoff", () => {
  it("doubles up to the cap and jitters within the upper half", () => {
    const options = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, options, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffMs(3, options, () => 0)).toBe(200);
  });
});
