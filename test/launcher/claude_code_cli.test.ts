/**
 * Claude Code sessions run by the real CLI (`@anthropic-ai/claude-code`, a
 * pinned dev dependency) in a real launcher process, against a stand-in of
 * Anthropic's Messages API on 127.0.0.1 (test/support/messages_api.ts), so
 * that they run offline. The stand-in `claude` script of test/fixtures stays
 * for the fast cases.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { jobEvents } from "../support/coordinator_process.ts";
import {
  claudeOffline,
  processesIn,
  realClaudeProfile,
  type RegisteredLauncher,
  startRegisteredLauncher,
} from "../support/launcher_process.ts";
import { MessagesApi } from "../support/messages_api.ts";
import { until } from "../support/test_coordinator.ts";

const standInMcpServer = join(import.meta.dirname, "..", "fixtures", "mcp_server");
import { createJobOn, runJobOn, useCoordinatorProcess } from "../support/process_fixtures.ts";
import { waitForJobEnd } from "../support/coordinator_process.ts";

const coordinator = useCoordinatorProcess();
let api: MessagesApi;
let home: string;
let launcher: RegisteredLauncher;

beforeAll(async () => {
  api = await MessagesApi.start();
  home = mkdtempSync(join(tmpdir(), "tether-claude-home-"));
  launcher = await startRegisteredLauncher({
    coordinator,
    // Jobs may pre-approve Bash here, so that a test can cancel a job while the CLI runs a command.
    executors: {
      "claude-code": realClaudeProfile({ allowedTools: ["Bash"] }),
      // An agent of the host owner's making: its own system prompt, and the answer streamed as it is written.
      "claude-reviewer": realClaudeProfile({
        appendSystemPrompt: "You review code. Answer in one short paragraph.",
        includePartialMessages: true,
        defaultModel: "claude-stand-in-reviewer",
        // Its own MCP server, inline, and no other.
        mcpConfig: { mcpServers: { "stand-in": { command: "node", args: [standInMcpServer] } } },
        strictMcpConfig: true,
      }),
    },
    env: { HOME: home, ...claudeOffline(api.url, home) },
  });
});

afterAll(async () => {
  launcher?.signal("SIGKILL");
  await api?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("Claude Code sessions with the real CLI", () => {
  it("starts a session, and resumes it on the same launcher with its history sent to the model", async () => {
    const started = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "write a haiku about queues" },
    });
    expect(JobState[started.state]).toBe("SUCCEEDED");
    expect(started.result).toMatchObject({
      type: "result",
      subtype: "success",
      is_error: false,
      result: "stand-in answer to: write a haiku about queues",
    });
    const claudeSessionId = started.result!.session_id as string;
    expect(claudeSessionId).toMatch(/^[0-9a-f-]{36}$/);
    const { session } = await coordinator.sessions.getSession({ id: started.sessionId });
    expect(session!.executorSessionId).toBe(claudeSessionId);
    expect(SessionState[session!.state]).toBe("IDLE");
    const events = await jobEvents(coordinator, started.id);
    expect(events[0]).toMatchObject({ type: "system", subtype: "init", session_id: claudeSessionId, cwd: launcher.projectDir });
    expect(events.at(-1)).toMatchObject({ type: "result", session_id: claudeSessionId });
    // The CLI asked the stand-in, streaming, and nothing else.
    expect(api.requests.map((r) => r.url)).toEqual(["/v1/messages?beta=true"]);
    expect(api.requests[0]!.body.stream).toBe(true);

    const resumed = await runJobOn(coordinator, launcher, {
      type: JobType.RESUME_SESSION,
      executor: "claude-code",
      parameters: { prompt: "and one more" },
      launcherId: "",
      sessionId: started.sessionId,
    });
    expect(JobState[resumed.state]).toBe("SUCCEEDED");
    expect(resumed.result).toMatchObject({ session_id: claudeSessionId, result: "stand-in answer to: and one more" });
    // The model saw the first turn: the resume sent the session's history.
    const last = api.requests.at(-1)!;
    expect(MessagesApi.userTexts(last)).toEqual(expect.arrayContaining(["write a haiku about queues", "and one more"]));
  });

  it("a session stopped by its maxTurns fails, saying so from the CLI's result", async () => {
    // The model asks for a tool; with one turn allowed, the CLI stops before it may answer again.
    api.script({ toolUse: { name: "Bash", input: { command: "ls", description: "list" } } });
    const ended = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "list the files", maxTurns: 1 },
    });
    expect(JobState[ended.state]).toBe("FAILED");
    expect(ended.result).toMatchObject({ type: "result", is_error: true, subtype: "error_max_turns" });
    expect(ended.error).toMatch(/error_max_turns/);
    expect(ended.error).toMatch(/max_turns/);
  });

  it("a 1.5 MB answer succeeds, its result and events cut to fit the coordinator's limits and saying so", async () => {
    const answer = 'a "quoted" línea with `ticks`\n'.repeat(50_000);
    api.script({ text: answer, deltas: 100 });
    const ended = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "write at length" },
    });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(ended.result).toMatchObject({ type: "result", subtype: "success", is_error: false, truncated: true });
    const kept = ended.result!.result as string;
    expect(answer.startsWith(kept)).toBe(true);
    expect(kept.length).toBeGreaterThan(answer.length / 2);
    const events = await jobEvents(coordinator, ended.id);
    // Every line is there, none refused or cut into a log line: the long ones cut to fit, and marked.
    expect(events.map((e) => e.type)).toEqual(["system", "assistant", "result"]);
    expect(events[1]).toMatchObject({ type: "assistant", truncated: true });
    expect(events[2]).toMatchObject({ type: "result", truncated: true });
  });

  it("an overloaded model API (529) fails the attempt with AGENT_API_ERROR, and the retry succeeds", async () => {
    api.script({ status: 529, errorType: "overloaded_error", message: "Overloaded" });
    const ended = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "try twice" },
    });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(ended.attempt).toBe(2);
    expect(ended.result).toMatchObject({ is_error: false, result: "stand-in answer to: try twice" });
    // The first attempt's end is in the log: the CLI's own account of the 529.
    const events = await jobEvents(coordinator, ended.id);
    expect(events.find((e) => e.type === "result" && e.api_error_status === 529)).toMatchObject({ is_error: true });
  });

  it("a cancel while the model's answer streams ends the session CANCELLED, with no process of it left", async () => {
    api.script({ text: "slowly ".repeat(1_000), deltas: 200, deltaEveryMs: 100 });
    const asked = api.requests.length;
    const id = await createJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "answer slowly" },
    });
    await until(() => api.requests.length > asked, "the CLI's request to the model", 20_000);
    await coordinator.jobs.cancelJob({ id });
    const ended = await waitForJobEnd(coordinator, id);
    expect(JobState[ended.state]).toBe("CANCELLED");
    await until(() => processesIn(launcher.projectDir).length === 0, "no process left in the project dir", 20_000);
  });

  it("a cancel while the CLI runs a Bash command ends the session CANCELLED, the command's process gone too", async () => {
    // A command that runs until stopped (the CLI refuses a long sleep).
    api.script({ toolUse: { name: "Bash", input: { command: "tail -f /dev/null", description: "wait" } } });
    const id = await createJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "wait a minute", allowedTools: ["Bash"] },
    });
    await until(() => processesIn(launcher.projectDir).some((p) => p.cmdline === "tail -f /dev/null"), "the command running", 20_000);
    await coordinator.jobs.cancelJob({ id });
    const ended = await waitForJobEnd(coordinator, id);
    expect(JobState[ended.state]).toBe("CANCELLED");
    await until(() => processesIn(launcher.projectDir).length === 0, "no process left in the project dir", 20_000);
  });

  it("a tool call the session may not make is denied, and the denial is on the job's result", async () => {
    api.script({ toolUse: { name: "Write", input: { file_path: "notes.txt", content: "x" } } });
    const ended = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-code",
      parameters: { prompt: "write a file" },
    });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(ended.result!.permission_denials).toEqual([expect.objectContaining({ tool_name: "Write" })]);
  });

  it("a profile's system prompt and default model reach the model, and its partial messages stream into the job's log", async () => {
    api.script({ text: "looks fine to me", deltas: 4 });
    const ended = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-reviewer",
      parameters: { prompt: "review this" },
    });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(ended.result).toMatchObject({ result: "looks fine to me" });
    expect(JSON.stringify(api.requests.at(-1)!.body.system)).toContain("You review code. Answer in one short paragraph.");
    // The job named no model: the profile's default was asked for.
    expect(api.requests.at(-1)!.body.model).toBe("claude-stand-in-reviewer");
    const events = await jobEvents(coordinator, ended.id);
    const deltas = events.filter((e) => e.type === "stream_event" &&
      (e.event as { type?: string } | undefined)?.type === "content_block_delta");
    expect(deltas.map((e) => (e.event as { delta: { text: string } }).delta.text).join("")).toBe("looks fine to me");
  });

  it("a profile's MCP server is started for the session, and its tool answers the model", async () => {
    api.script({ toolUse: { name: "mcp__stand-in__ping", input: {} } });
    const ended = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-reviewer",
      parameters: { prompt: "ping the server", allowedTools: ["mcp__stand-in__ping"] },
    });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    const [init] = await jobEvents(coordinator, ended.id);
    expect(init).toMatchObject({ type: "system", subtype: "init", mcp_servers: [{ name: "stand-in", status: "connected" }] });
    // The tool's answer went back to the model with the next request.
    expect(JSON.stringify(api.requests.at(-1)!.body.messages)).toContain("pong from the stand-in MCP server");
  });

  it("a tool rule with a comma in it pre-approves that very command: each rule is an argument of its own", async () => {
    const touch = () => api.script({ toolUse: { name: "Bash", input: { command: "touch a,b", description: "make a file" } } });
    touch();
    const allowed = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-reviewer",
      parameters: { prompt: "make the file", allowedTools: ["Bash(touch a,b)", "Read"] },
    });
    expect(allowed.result!.permission_denials).toEqual([]);
    expect(existsSync(join(launcher.projectDir, "a,b"))).toBe(true);
    // Half of the rule, as a split at its comma would leave it, approves nothing.
    touch();
    const denied = await runJobOn(coordinator, launcher, {
      type: JobType.START_SESSION,
      executor: "claude-reviewer",
      parameters: { prompt: "make the file again", allowedTools: ["Bash(touch a"] },
    });
    expect(denied.result!.permission_denials).toEqual([expect.objectContaining({ tool_name: "Bash" })]);
  });
});
