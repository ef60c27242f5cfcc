import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailureReason, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { heldPolls } from "../support/held_polls.ts";


describe("CancelJob", () => {
  let t: TestCoordinator;
  beforeEach(async () => {
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
  });
  afterEach(() => t.close());

  it("ends a queued job at once", async () => {
    // A short hold of the server's, and no deadline of the client's: the poll answers empty however slow the machine.
    await t.close();
    t = await startTestCoordinator({ pollHoldMs: 200 });
    const { job } = await t.jobs.createJob(echoJob);
    const { job: cancelled } = await t.jobs.cancelJob({ id: job!.id, reason: "changed my mind" });
    expect(cancelled!.state).toBe(JobState.CANCELLED);
    expect(cancelled!.failureReason).toBe(FailureReason.CANCELLED);
    expect(cancelled!.error).toBe("changed my mind");
    const l = await LauncherDriver.register(t);
    expect((await l.poll()).offers).toEqual([]);
  });

  it("makes an outstanding offer's token stale", async () => {
    await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await t.jobs.cancelJob({ id: offer.job!.id });
    await expect(l.accept(offer)).rejects.toThrow(/stale/);
  });

  it("reaches the running job's launcher through its held poll at once", async () => {
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const held = l.poll();
    await heldPolls(t.coordinator, 1, "the poll to be held");
    const { job: cancelling } = await t.jobs.cancelJob({ id: job!.id });
    expect(cancelling!.state).toBe(JobState.CANCELLING);
    expect((await held).cancelJobIds).toEqual([job!.id]);
    // Once the launcher says it is stopping the job, the poll holds again instead of repeating it.
    // (Cut short by the client's deadline, less a margin of a tenth that a loaded machine leaves room for.)
    expect((await l.poll({ cancelling: [job!.id], timeoutMs: 3_000 })).cancelJobIds).toEqual([]);
    expect((await l.heartbeat([offer])).cancelJobIds).toEqual([job!.id]);
    const { job: ended } = await l.finish(offer, { state: JobState.CANCELLED, exitCode: 130 });
    expect(ended!.state).toBe(JobState.CANCELLED);
    expect(ended!.failureReason).toBe(FailureReason.CANCELLED);
  });

  it("records one winner when a cancel races the completion", async () => {
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    await t.jobs.cancelJob({ id: job!.id });
    const { job: done } = await l.succeed(offer);
    expect(done!.state).toBe(JobState.SUCCEEDED);
    // The late cancel of an ended job is refused, and the record stays.
    await expect(t.jobs.cancelJob({ id: job!.id })).rejects.toThrow(/already ended SUCCEEDED/);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.SUCCEEDED);
  });

  it("refuses a CANCELLED report for a job nobody asked to stop, changing nothing", async () => {
    await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    await expect(l.finish(offer, { state: JobState.CANCELLED })).rejects.toThrow(/was not asked to stop/);
    expect((await t.jobs.getJob({ id: offer.job!.id })).job!.state).toBe(JobState.RUNNING);
  });

  it("cancels a session's turn and marks the session cancelled", async () => {
    const { job } = await t.jobs.createJob({ ...echoJob, type: JobType.START_SESSION, sessionName: "s1" });
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    await t.jobs.cancelJob({ id: job!.id });
    await l.finish(offer, { state: JobState.CANCELLED });
    const { session } = await t.sessions.getSession({ id: job!.sessionId });
    expect(session!.state).toBe(SessionState.CANCELLED);
  });
});
