import { mkdtempSync, rmSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { FailureReason, JobSchema, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { claudeCodeCommand } from "../../launcher-deno/src/executors/claude_code_command.ts";
import { parseLauncherConfig } from "../../launcher-deno/src/config/config.ts";
import { checkJob } from "../../launcher-deno/src/attempt/job_checks.ts";
import { attemptOutcome } from "../../launcher-deno/src/attempt/job_outcome.ts";

// The check every offered job passes before its executor starts (JobAttempt
// runs it, then reports what it throws as the attempt's startError), on a real
// project root.

const root = await realpath(mkdtempSync(`${tmpdir()}/tether-refusals-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const config = parseLauncherConfig(
  JSON.stringify({
    coordinator: "http://127.0.0.1:7070",
    name: "box",
    projectRoots: [root],
    executors: {
      "claude-code": { kind: "claude-code", allowedTools: ["Read"] },
      cmd: { kind: "command", argv: ["/bin/true"], parametersSchema: { type: "object" } },
    },
  }),
  "/etc/tether/launcher.json",
  { os: "linux" },
);
const probe = { realPath: (p: string) => realpath(p), isDirectory: async (p: string) => (await stat(p)).isDirectory() };
const sessionId = "3f2b8c1e-9d4a-4e7b-8a6f-0c5d2e1b7a90";

function check(job: { executor?: string; type?: JobType; parameters: JsonObject }, executorSessionId = "") {
  const offered = create(JobSchema, {
    id: "job_1",
    attempt: 1,
    type: job.type ?? JobType.START_SESSION,
    executor: job.executor ?? "claude-code",
    projectDir: root,
    parameters: job.parameters,
  });
  return checkJob(offered, { executorSessionId, config, probe });
}

/** What the attempt would report for a job the check throws on. */
async function reported(job: Parameters<typeof check>[0], executorSessionId = "") {
  try {
    await check(job, executorSessionId);
  } catch (err) {
    return attemptOutcome({ startError: (err as Error).message, stderrTail: "" });
  }
  throw new Error("the job passed the check");
}

describe("a job refused by its claude-code profile before anything starts", () => {
  it("is reported like parameters that fail the schema: FAILED, EXECUTOR_ERROR, saying what the host allows", async () => {
    const mode = await reported({ parameters: { prompt: "x", permissionMode: "bypassPermissions" } });
    expect(mode).toEqual({
      state: JobState.FAILED,
      failureReason: FailureReason.EXECUTOR_ERROR,
      error: 'The job asks for more than executor "claude-code" allows on this host: parameters.permissionMode: ' +
        '"bypassPermissions" is not allowed here (allowed: default, acceptEdits, plan, dontAsk)',
    });
    const schema = await reported({ parameters: { prompt: "x", temperature: 2 } });
    expect(schema).toMatchObject({ state: JobState.FAILED, failureReason: FailureReason.EXECUTOR_ERROR });
    expect(schema.error).toContain("parameters.temperature: is not allowed");
  });

  it("is refused for a tool the profile leaves out", async () => {
    expect((await reported({ parameters: { prompt: "x", allowedTools: ["Read", "Bash(*)"] } })).error).toContain(
      'parameters.allowedTools[1]: "Bash(*)" is not allowed here (allowed: Read)',
    );
  });

  it('is refused when a resume\'s session id is --settings={"hooks":{}}, which is not a UUID', async () => {
    const outcome = await reported({ type: JobType.RESUME_SESSION, parameters: { prompt: "x" } }, '--settings={"hooks":{}}');
    expect(outcome).toEqual({
      state: JobState.FAILED,
      failureReason: FailureReason.EXECUTOR_ERROR,
      error: "Cannot resume job \"job_1\": the session's Claude session id is not a UUID, so it is not passed to claude",
    });
  });

  it("passes when it fits, and claude then gets the resume id and each tool in one argument with its flag", async () => {
    const { profile, payload } = await check(
      { type: JobType.RESUME_SESSION, parameters: { prompt: "x", allowedTools: ["Read"] } },
      sessionId,
    );
    expect(claudeCodeCommand(profile.argv, payload).argv).toEqual(
      ["claude", "-p", "--output-format", "stream-json", "--verbose", `--resume=${sessionId}`, "--allowedTools=Read"],
    );
  });

  it("leaves other kinds' session ids and parameters to their own executors", async () => {
    const { payload } = await check(
      { executor: "cmd", type: JobType.RESUME_SESSION, parameters: { permissionMode: "bypassPermissions" } },
      "an-id-of-its-own",
    );
    expect(payload).toMatchObject({ mode: "resume", executorSessionId: "an-id-of-its-own", projectDir: root });
  });
});
