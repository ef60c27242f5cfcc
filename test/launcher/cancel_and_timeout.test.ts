import { Duration } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { FailureReason, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { jobEvents, waitForEvent, waitForJob, waitForJobEnd } from "../support/coordinator_process.ts";
import { processAlive, standInClaudeProfile } from "../support/launcher_process.ts";
import { createJobOn, runJobOn, useCoordinatorProcess, useLauncher } from "../support/process_fixtures.ts";

const coordinator = useCoordinatorProcess();
const launcher = useLauncher(coordinator, {
  maxConcurrency: 4,
  executors: { echo: { kind: "echo" }, "claude-code": standInClaudeProfile() },
  config: { output: { maxBytes: 64 * 1024, maxEventBytes: 4096 } },
});

async function startSlowJob(prompt: string, extra: { timeout?: Duration } = {}) {
  const jobId = await createJobOn(coordinator, launcher, {
    type: JobType.START_SESSION,
    executor: "claude-code",
    parameters: { prompt },
    maxAttempts: 1,
    ...extra,
  });
  const processes = await waitForEvent(coordinator, jobId, (e) => e.subtype === "stand_in_processes", "the stand-in's pids");
  const pids = [Number(processes.pid), Number(processes.grandchild_pid)];
  expect(pids.every(processAlive)).toBe(true);
  return { jobId, pids };
}

function signalsSent(jobId: string): unknown[] {
  return launcher.logs.lines.filter((l) => l.msg === "signalling job's process group" && l.jobId === jobId).map((l) => l.signal);
}

describe("stopping a running job", () => {
  it("a cancelled slow job gets SIGINT on its process group, ends CANCELLED, and leaves no process behind", async () => {
    const { jobId, pids } = await startSlowJob("[slow] think for a long time");
    const { job: cancelling } = await coordinator.jobs.cancelJob({ id: jobId, reason: "test" });
    expect(JobState[cancelling!.state]).toBe("CANCELLING");
    const ended = await waitForJobEnd(coordinator, jobId);
    expect(JobState[ended.state]).toBe("CANCELLED");
    expect(ended.exitCode).toBe(130); // the stand-in exits 130 on SIGINT, as a resumable Claude does
    expect(signalsSent(jobId)).toEqual(["SIGINT"]);
    expect(pids.filter(processAlive)).toEqual([]);
  });

  it("a job that ignores SIGINT and SIGTERM is killed with SIGKILL after the grace periods, then reported CANCELLED", async () => {
    const { jobId, pids } = await startSlowJob("[stubborn]");
    await coordinator.jobs.cancelJob({ id: jobId });
    const ended = await waitForJobEnd(coordinator, jobId);
    expect(JobState[ended.state]).toBe("CANCELLED");
    expect(ended.exitCode).toBe(137);
    expect(signalsSent(jobId)).toEqual(["SIGINT", "SIGTERM", "SIGKILL"]);
    expect(pids.filter(processAlive)).toEqual([]);
    // The report came only after the launcher saw the exit.
    const finished = await launcher.logs.waitFor((l) => l.msg === "job finished" && l.jobId === jobId, "the job's report");
    const exitedAt = launcher.logs.lines.findIndex((l) => l.msg === "job process exited" && l.jobId === jobId);
    const finishedAt = launcher.logs.lines.indexOf(finished);
    expect(exitedAt).toBeGreaterThanOrEqual(0);
    expect(finishedAt).toBeGreaterThan(exitedAt);
  });

  it("a job past its timeout is stopped and ends FAILED with TIMEOUT", async () => {
    const { jobId, pids } = await startSlowJob("[slow]", { timeout: { seconds: 1n, nanos: 0 } as Duration });
    const ended = await waitForJobEnd(coordinator, jobId);
    expect(JobState[ended.state]).toBe("FAILED");
    expect(FailureReason[ended.failureReason]).toBe("TIMEOUT");
    expect(ended.error).toContain("ran past its timeout of 1000ms");
    expect(pids.filter(processAlive)).toEqual([]);
  });

  it("output past the launcher's bound is cut with one truncation marker, and the result still arrives", async () => {
    const ended = await runJobOn(coordinator, launcher, { executor: "claude-code", parameters: { prompt: "[flood]" } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    const events = await jobEvents(coordinator, ended.id);
    const markers = events.filter((e) => e.type === "truncated");
    expect(markers).toHaveLength(1);
    expect(markers[0]).toMatchObject({ limitBytes: 64 * 1024 });
    expect(events.at(-1)).toMatchObject({ type: "result", is_error: false });
    const bytes = events.filter((e) => e.type === "assistant").reduce((sum, e) => sum + JSON.stringify(e).length, 0);
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    expect(ended.result).toMatchObject({ type: "result" });
  });

  it("a process that escaped the group and holds stdout open does not hold up the report", async () => {
    const ended = await runJobOn(coordinator, launcher, { executor: "claude-code", parameters: { prompt: "[escape]" } });
    const events = await jobEvents(coordinator, ended.id);
    const escaped = Number(events.find((e) => e.subtype === "stand_in_escaped")!.pid);
    process.kill(escaped, "SIGKILL");
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(events.at(-1)).toMatchObject({ type: "log", stream: "launcher" });
    expect(String(events.at(-1)!.text)).toContain("stayed open");
  });

  it("a job cancelled while queued never reaches the launcher", async () => {
    const { job } = await coordinator.jobs.createJob({
      type: JobType.COMMAND,
      executor: "echo",
      parameters: { prompt: "never" },
      projectDir: launcher.projectDir,
      labels: { gpu: "none-here" },
    });
    await coordinator.jobs.cancelJob({ id: job!.id });
    const ended = await waitForJob(coordinator, job!.id, (j) => j.state === JobState.CANCELLED, "CANCELLED");
    expect(ended.launcherId).toBe("");
  });
});
