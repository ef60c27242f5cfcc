import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { startCoordinatorProcess, waitForEvent, waitForJob, waitForJobEnd } from "../support/coordinator_process.ts";
import { type LauncherProcess, processAlive, standInClaudeProfile } from "../support/launcher_process.ts";
import { createJobOn, runJobOn, startLauncherForTest, useCoordinatorProcess } from "../support/process_fixtures.ts";

const coordinator = useCoordinatorProcess();

async function launcherState(id: string): Promise<string> {
  const { launchers } = await coordinator.operator.listLaunchers({});
  return LauncherState[launchers.find((launcher) => launcher.id === id)!.state];
}

/** A job of one attempt for `launcher`. */
function createJob(launcher: LauncherProcess, executor: string, parameters: JsonObject) {
  return createJobOn(coordinator, launcher, { executor, parameters, maxAttempts: 1 });
}

describe("shutting a launcher down", () => {
  it("SIGTERM drains: the running job finishes, no new job is taken, and the launcher deregisters and exits 0", async () => {
    const launcher = await startLauncherForTest({ coordinator });
    const id = await launcher.registered();
    const running = await createJob(launcher, "echo", { prompt: "finish me", delayMs: 1_000 });
    await waitForJob(coordinator, running, (j) => j.state === JobState.RUNNING, "RUNNING");
    launcher.signal("SIGTERM");
    await launcher.logs.waitFor((l) => l.msg === "draining", "draining");
    const late = await createJob(launcher, "echo", { prompt: "too late" });

    const ended = await waitForJobEnd(coordinator, running);
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect((await launcher.exited).code).toBe(0);
    expect(launcher.logs.messages("deregistered")).toHaveLength(1);
    expect(await launcherState(id)).toBe("DEREGISTERED");
    const { job: untouched } = await coordinator.jobs.getJob({ id: late });
    expect(JobState[untouched!.state]).toBe("QUEUED");
    await coordinator.jobs.cancelJob({ id: late });
  });

  it("a second signal stops the running job (SIGINT first) and reports it before the launcher exits", async () => {
    const launcher = await startLauncherForTest({ coordinator });
    const id = await launcher.registered();
    const running = await createJob(launcher, "claude-code", { prompt: "[slow]" });
    await waitForEvent(coordinator, running, (e) => e.subtype === "stand_in_processes", "the slow job working");
    launcher.signal("SIGTERM");
    await launcher.logs.waitFor((l) => l.msg === "draining", "draining");
    launcher.signal("SIGINT");

    const ended = await waitForJobEnd(coordinator, running);
    expect(JobState[ended.state]).toBe("FAILED");
    expect(FailureReason[ended.failureReason]).toBe("LAUNCHER_LOST");
    expect(ended.exitCode).toBe(130);
    expect(ended.error).toContain("The launcher was shut down while the attempt ran");
    expect((await launcher.exited).code).toBe(0);
    expect(await launcherState(id)).toBe("DEREGISTERED");
  });

  it("a third signal kills the running job at once, reports nothing, and the launcher still deregisters", async () => {
    const launcher = await startLauncherForTest({
      coordinator,
      executors: { "claude-code": standInClaudeProfile({ grace: { interrupt: "60s", terminate: "60s" } }) },
    });
    await launcher.registered();
    const running = await createJob(launcher, "claude-code", { prompt: "[stubborn]" });
    const started = await waitForEvent(coordinator, running, (e) => e.subtype === "stand_in_processes", "the job working");
    // Each a different signal from the one before: the same one again at once would count as one delivery.
    for (const [signal, msg] of [["SIGTERM", "draining"], ["SIGINT", "forcing shutdown: stopping running jobs"]] as const) {
      launcher.signal(signal);
      await launcher.logs.waitFor((l) => l.msg === msg, msg);
    }
    await launcher.logs.waitFor((l) => l.msg === "signalling job's process group" && l.signal === "SIGINT", "the SIGINT");
    launcher.signal("SIGTERM");

    expect((await launcher.exited).code).toBe(0);
    expect([Number(started.pid), Number(started.grandchild_pid)].filter(processAlive)).toEqual([]);
    expect(launcher.logs.messages("job finished")).toEqual([]);
    expect(launcher.logs.messages("deregistered")).toHaveLength(1);
    const ended = await waitForJobEnd(coordinator, running);
    expect(FailureReason[ended.failureReason]).toBe("LAUNCHER_LOST");
  });

  it("a drain from the coordinator lets the running job finish, then the launcher exits", async () => {
    const launcher = await startLauncherForTest({ coordinator });
    const id = await launcher.registered();
    const running = await createJob(launcher, "echo", { prompt: "drained", delayMs: 500 });
    await waitForJob(coordinator, running, (j) => j.state === JobState.RUNNING, "RUNNING");
    await coordinator.operator.drainLauncher({ launcherId: id });
    expect(JobState[(await waitForJobEnd(coordinator, running)).state]).toBe("SUCCEEDED");
    expect((await launcher.exited).code).toBe(0);
    expect(launcher.logs.messages("draining")[0]).toMatchObject({ reason: "the coordinator asked this launcher to drain" });
  });

  it("a launcher deregistered by an operator registers again and keeps taking jobs", async () => {
    const launcher = await startLauncherForTest({ coordinator });
    const id = await launcher.registered();
    await coordinator.operator.removeLauncher({ launcherId: id });
    await launcher.logs.waitFor((l) => l.msg === "registered" && launcher.logs.messages("registered").length === 2, "a second registration");
    const job = await createJob(launcher, "echo", { prompt: "still here" });
    expect(JobState[(await waitForJobEnd(coordinator, job)).state]).toBe("SUCCEEDED");
  });
});

describe("riding out a coordinator outage", () => {
  it("keeps retrying while the coordinator is down, and runs jobs again once it is back", async () => {
    const own = await startCoordinatorProcess();
    const launcher = await startLauncherForTest({ coordinator: own });
    await launcher.registered();
    await own.stop();
    await launcher.logs.waitFor((l) => l.msg === "poll failed; retrying with the same pollId", "a failed poll");
    const back = await startCoordinatorProcess({ dbPath: own.dbPath, listen: `127.0.0.1:${own.port}` });
    const ended = await runJobOn(back, launcher, { executor: "echo", parameters: { prompt: "welcome back" } });
    expect(JobState[ended.state]).toBe("SUCCEEDED");
    expect(launcher.child.exitCode).toBeNull();
    await back.stop();
  });
});
