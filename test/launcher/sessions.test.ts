import { describe, expect, it } from "vitest";
import { FailureReason, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { jobEvents } from "../support/coordinator_process.ts";
import { runJobOn, useCoordinatorProcess, useLauncher } from "../support/process_fixtures.ts";

const coordinator = useCoordinatorProcess();
const first = useLauncher(coordinator);
const second = useLauncher(coordinator);

describe("claude-code sessions through a real launcher", () => {
  it("a started session succeeds with Claude's session id and result recorded, and resumes on the same launcher with --resume", async () => {
    const started = await runJobOn(coordinator, first, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "write a haiku about queues" },
    });
    expect(JobState[started.state]).toBe("SUCCEEDED");
    expect(started.exitCode).toBe(0);
    expect(started.launcherId).toBe(first.id);
    expect(started.result).toMatchObject({
      type: "result",
      is_error: false,
      result: "stand-in reply to: write a haiku about queues",
      num_turns: 1,
      total_cost_usd: 0.0042,
      usage: { input_tokens: 12, output_tokens: 7 },
    });
    const claudeSessionId = started.result!.session_id as string;
    expect(claudeSessionId).toMatch(/^[0-9a-f-]{36}$/);
    const { session } = await coordinator.sessions.getSession({ id: started.sessionId });
    expect(session!.executorSessionId).toBe(claudeSessionId);
    expect(SessionState[session!.state]).toBe("IDLE");

    const events = await jobEvents(coordinator, started.id);
    expect(events.map((event) => event.type)).toEqual(["system", "assistant", "result"]);
    expect(events[0]).toMatchObject({ subtype: "init", session_id: claudeSessionId, cwd: first.projectDir });

    // Not targeted: the session's launcher runs it.
    const resumed = await runJobOn(coordinator, first, {
      type: JobType.RESUME_SESSION,
      executor: "claude-code",
      parameters: { prompt: "and one more" },
      launcherId: "",
      sessionId: started.sessionId,
    });
    expect(JobState[resumed.state]).toBe("SUCCEEDED");
    expect(resumed.launcherId).toBe(first.id);
    // The stand-in keeps its transcript in the project dir, so turn 2 proves the same host's files.
    expect(resumed.result).toMatchObject({ session_id: claudeSessionId, num_turns: 2, result: "stand-in reply to: and one more" });
    const [init] = await jobEvents(coordinator, resumed.id);
    expect(init?.stand_in_argv).toEqual(["-p", "--output-format", "stream-json", "--verbose", `--resume=${claudeSessionId}`]);
  });

  it("a failing executor ends FAILED with EXIT_NONZERO, its exit code and the tail of its stderr", async () => {
    const ended = await runJobOn(coordinator, first, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "[fail]" },
    });
    expect(JobState[ended.state]).toBe("FAILED");
    expect(FailureReason[ended.failureReason]).toBe("EXIT_NONZERO");
    expect(ended.exitCode).toBe(3);
    expect(ended.error).toContain("exited with code 3");
    expect(ended.error).toContain("stand-in: simulated crash: the model endpoint refused the request");
  });

  it("an error result from Claude ends FAILED with the result kept", async () => {
    const ended = await runJobOn(coordinator, first, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "[error-result]" },
    });
    expect(JobState[ended.state]).toBe("FAILED");
    expect(FailureReason[ended.failureReason]).toBe("EXIT_NONZERO");
    expect(ended.result).toMatchObject({ type: "result", is_error: true, result: "stand-in: the turn failed" });
    expect(ended.error).toContain("stand-in: the turn failed");
  });

  it("stdout lines that are not JSON objects become log events, in order", async () => {
    const ended = await runJobOn(coordinator, first, { executor: "claude-code", parameters: { prompt: "[noise] hello" } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    const events = await jobEvents(coordinator, ended.id);
    expect(events.map((event) => event.type)).toEqual(["system", "log", "log", "assistant", "result"]);
    expect(events[1]).toEqual({ type: "log", stream: "stdout", text: "plain text that is not JSON" });
    expect(events[2]).toEqual({ type: "log", stream: "stdout", text: "[1, 2, 3]" });
  });

  it("an event the coordinator refuses is replaced by a marker and the log goes on", async () => {
    const ended = await runJobOn(coordinator, first, { executor: "claude-code", parameters: { prompt: "[deep] dig" } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    const events = await jobEvents(coordinator, ended.id);
    expect(events.map((event) => event.type)).toEqual(["system", "refused", "assistant", "result"]);
    expect(events[1]).toMatchObject({ original_type: "stand_in_deep" });
    expect(String(events[1]!.reason)).toMatch(/^InvalidArgument: /);
  });

  it("the echo executor answers the prompt in-process", async () => {
    const ended = await runJobOn(coordinator, second, { executor: "echo", parameters: { prompt: "ping" } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(ended.result).toMatchObject({ type: "result", is_error: false, result: "ping", num_turns: 1 });
  });

  it("a job is refused with EXECUTOR_ERROR when its project dir is outside the allowed roots or its parameters do not fit", async () => {
    const refused = await runJobOn(coordinator, first, { executor: "echo", parameters: { prompt: "escape" }, projectDir: "/etc" });
    expect(JobState[refused.state]).toBe("FAILED");
    expect(FailureReason[refused.failureReason]).toBe("EXECUTOR_ERROR");
    expect(refused.error).toBe(`The project dir "/etc" is outside the launcher's allowed project roots (${first.projectDir})`);

    const invalid = await runJobOn(coordinator, first, {
      executor: "claude-code",
      parameters: { prompt: "", temperature: 2 },
    });
    expect(FailureReason[invalid.failureReason]).toBe("EXECUTOR_ERROR");
    expect(invalid.error).toContain('The parameters do not fit executor "claude-code"');
    expect(invalid.error).toContain("parameters.prompt: must have at least 1 characters");
    expect(invalid.error).toContain("parameters.temperature: is not allowed");
  });
});
