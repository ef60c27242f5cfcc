import { describe, expect, it, onTestFinished } from "vitest";
import { FailureReason, type Job, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { waitForEvent, waitForJob } from "../support/coordinator_process.ts";
import { type LauncherProcess, payloadExecutorProfile, processAlive } from "../support/launcher_process.ts";
import { startLauncherForTest, useCoordinatorProcess } from "../support/process_fixtures.ts";

const coordinator = useCoordinatorProcess();

/** Every snapshot WatchJob sends until the job ends, so transient states are seen too. */
async function jobHistory(jobId: string): Promise<Job[]> {
  const history: Job[] = [];
  for await (const message of coordinator.jobs.watchJob({ id: jobId }, { signal: AbortSignal.timeout(30_000) })) {
    if (message.kind.case === "job") history.push(message.kind.value);
  }
  return history;
}

function launcherWith(name: string): Promise<LauncherProcess> {
  return startLauncherForTest({
    coordinator,
    name,
    executors: { echo: { kind: "echo" }, work: payloadExecutorProfile() },
    // Both launchers share one project root so that the job may run on either.
    config: { projectRoots: ["/tmp"] },
  });
}

/** Kills `doomed` with SIGKILL and, once it is gone, starts a launcher called `name`; resolves with the newcomer's id. */
async function replaceLauncher(doomed: LauncherProcess, name: string): Promise<string> {
  doomed.signal("SIGKILL");
  await doomed.exited;
  return await (await launcherWith(name)).registered();
}

/**
 * Creates a job of the work executor whose first attempt runs until it is
 * killed, and resolves once that attempt works: the job's id and the
 * executor's pid (killed, should it still run, when the test finishes).
 */
async function slowFirstAttempt(): Promise<{ jobId: string; pid: number }> {
  const { job } = await coordinator.jobs.createJob({
    type: JobType.COMMAND,
    executor: "work",
    parameters: { slowOnAttempt: 1 },
    projectDir: "/tmp",
    maxAttempts: 3,
  });
  const working = await waitForEvent(coordinator, job!.id, (e) => e.type === "working", "the first attempt working");
  const pid = Number(working.pid);
  onTestFinished(() => {
    if (processAlive(pid)) process.kill(pid, "SIGKILL");
  });
  return { jobId: job!.id, pid };
}

describe("failover between launchers", () => {
  it("a launcher killed with SIGKILL loses its job as LAUNCHER_LOST, and the retry runs on a second launcher", async () => {
    const doomed = await launcherWith("doomed");
    const doomedId = await doomed.registered();
    const { jobId } = await slowFirstAttempt();
    const history = jobHistory(jobId);
    const survivorId = await replaceLauncher(doomed, "survivor");
    const snapshots = await history;
    const lost = snapshots.find((j) => j.failureReason === FailureReason.LAUNCHER_LOST);
    expect(lost, "a snapshot with LAUNCHER_LOST").toBeDefined();
    expect(lost!.launcherId).toBe(doomedId);
    const final = snapshots.at(-1)!;
    expect(JobState[final.state]).toBe("SUCCEEDED");
    expect(final.attempt).toBe(2);
    expect(final.launcherId).toBe(survivorId);
    expect(final.result).toMatchObject({ result: "attempt 2 done in /tmp" });
  });

  it("an offer lost because its launcher died between poll and accept runs elsewhere without burning an attempt", async () => {
    const doomed = await launcherWith("doomed-offer");
    const doomedId = await doomed.registered();
    let jobId = "";
    // The launcher is frozen while the coordinator holds its poll, so the
    // offer is made and never accepted. A job run first guarantees that: the
    // launcher polls again as soon as it took the job, long before the job
    // ends. Should the poll still not be there, thaw, let the job finish and
    // try again.
    for (let tries = 1; !jobId; tries++) {
      const { job: warmup } = await coordinator.jobs.createJob({
        type: JobType.COMMAND,
        executor: "echo",
        parameters: { prompt: "warm up" },
        projectDir: "/tmp",
      });
      await waitForJob(coordinator, warmup!.id, (j) => j.state === JobState.SUCCEEDED, "SUCCEEDED");
      doomed.signal("SIGSTOP");
      const { job } = await coordinator.jobs.createJob({
        type: JobType.COMMAND,
        executor: "echo",
        parameters: { prompt: "find me a home" },
        projectDir: "/tmp",
      });
      const offered = await waitForJob(coordinator, job!.id, (j) => j.state === JobState.OFFERED, "OFFERED", 3_000)
        .catch(() => undefined);
      if (offered) {
        expect(offered.launcherId).toBe(doomedId);
        jobId = job!.id;
      } else {
        expect(tries, "attempts to catch the frozen launcher's poll").toBeLessThan(4);
        doomed.signal("SIGCONT");
        await waitForJob(coordinator, job!.id, (j) => j.state === JobState.SUCCEEDED, "SUCCEEDED");
      }
    }
    const history = jobHistory(jobId);
    const rescuerId = await replaceLauncher(doomed, "rescuer");
    const snapshots = await history;
    const final = snapshots.at(-1)!;
    expect(JobState[final.state]).toBe("SUCCEEDED");
    expect(final.launcherId).toBe(rescuerId);
    expect(final.attempt).toBe(1);
    expect(final.result).toMatchObject({ result: "find me a home" });
    // Offered to the frozen launcher first, then (back in the queue once the offer expired, a state a
    // watch may not see: a held poll takes the job the moment it is queued) run by the rescuer.
    expect(snapshots[0]).toMatchObject({ state: JobState.OFFERED, launcherId: doomedId });
  });

  it("a launcher that wakes after its lease lapsed kills its stale executor and does not overwrite the newer attempt", async () => {
    const sleeper = await launcherWith("sleeper");
    await sleeper.registered();
    const { jobId, pid: zombie } = await slowFirstAttempt();
    sleeper.signal("SIGSTOP");
    await waitForJob(coordinator, jobId, (j) => j.failureReason === FailureReason.LAUNCHER_LOST, "LAUNCHER_LOST");

    const successor = await launcherWith("successor");
    const successorId = await successor.registered();
    const done = await waitForJob(coordinator, jobId, (j) => j.state === JobState.SUCCEEDED, "SUCCEEDED");
    expect(done.launcherId).toBe(successorId);

    sleeper.signal("SIGCONT");
    await sleeper.logs.waitFor((l) => l.msg === "killing the executor without reporting", "the stale kill");
    await sleeper.logs.waitFor((l) => l.msg === "job process exited" && l.jobId === jobId, "the zombie's exit");
    expect(processAlive(zombie)).toBe(false);
    expect(sleeper.logs.lines.some((l) => l.msg === "job finished" && l.jobId === jobId)).toBe(false);
    const { job: after } = await coordinator.jobs.getJob({ id: jobId });
    expect(JobState[after!.state]).toBe("SUCCEEDED");
    expect(after!.attempt).toBe(2);
    expect(after!.launcherId).toBe(successorId);
  });
});
