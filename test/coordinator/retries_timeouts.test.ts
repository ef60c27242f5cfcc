import { afterEach, describe, expect, it } from "vitest";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { retryBackoffMs } from "../../coordinator/domain/retry.ts";
import { ManualClock } from "../support/manual_clock.ts";


describe("retries, timeouts and match timeouts", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("does not retry a job's own failure unless its policy asks", async () => {
    t = await startTestCoordinator();
    await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const { job } = await l.fail(offer, FailureReason.EXIT_NONZERO, 3);
    expect(job!.state).toBe(JobState.FAILED);
    expect(job!.exitCode).toBe(3);
    expect(job!.failureReason).toBe(FailureReason.EXIT_NONZERO);
  });

  it("retries an attempt its agent's model API failed (AGENT_API_ERROR), as it does a lost launcher, without being asked", async () => {
    t = await startTestCoordinator({ retryBackoffMs: 50, pollHoldMs: 10_000 });
    await t.jobs.createJob({ ...echoJob, maxAttempts: 2 });
    const l = await LauncherDriver.register(t);
    const first = await l.nextOffer();
    await l.accept(first);
    const { job: waiting } = await l.fail(first, FailureReason.AGENT_API_ERROR, 1);
    expect(waiting!.state).toBe(JobState.RETRY_WAIT);
    expect(waiting!.failureReason).toBe(FailureReason.AGENT_API_ERROR);
    const second = await l.nextOffer();
    expect((await l.accept(second)).job!.attempt).toBe(2);
    // The last attempt's failure ends the job, with its reason.
    const { job: ended } = await l.fail(second, FailureReason.AGENT_API_ERROR, 1);
    expect(ended).toMatchObject({ state: JobState.FAILED, failureReason: FailureReason.AGENT_API_ERROR });
  });

  it("retries with backoff up to maxAttempts when the policy retries job failures", async () => {
    t = await startTestCoordinator({ retryBackoffMs: 50, pollHoldMs: 10_000 });
    await t.jobs.createJob({ ...echoJob, retryJobFailures: true, maxAttempts: 2 });
    const l = await LauncherDriver.register(t);
    const first = await l.nextOffer();
    await l.accept(first);
    const { job: waiting } = await l.fail(first);
    expect(waiting!.state).toBe(JobState.RETRY_WAIT);
    expect(waiting!.retryTime).toBeDefined();
    const second = await l.nextOffer();
    expect(second.job!.id).toBe(first.job!.id);
    expect((await l.accept(second)).job!.attempt).toBe(2);
    expect((await l.fail(second)).job!.state).toBe(JobState.FAILED);
  });

  it("stops an attempt that runs past its timeout and records TIMEOUT", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ pollHoldMs: 10_000 }, undefined, { clock });
    const { job } = await t.jobs.createJob({ ...echoJob, timeout: durationFromMs(300) });
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    await clock.pass(299, t.coordinator);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.RUNNING);
    await clock.pass(1, t.coordinator);
    const { cancelJobIds } = await l.poll({ freeSlots: 0 });
    expect(cancelJobIds).toEqual([job!.id]);
    const { job: ended } = await l.finish(offer, { state: JobState.CANCELLED, exitCode: 143 });
    expect(ended!.state).toBe(JobState.FAILED);
    expect(ended!.failureReason).toBe(FailureReason.TIMEOUT);
  });

  it("fails a job that no live launcher matches within its match timeout", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({}, undefined, { clock });
    const { job } = await t.jobs.createJob({ ...echoJob, executor: "nobody-has-this", matchTimeout: durationFromMs(200) });
    await clock.pass(199, t.coordinator);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.QUEUED);
    await clock.pass(1, t.coordinator);
    const { job: failed } = await t.jobs.getJob({ id: job!.id });
    expect(failed!.state).toBe(JobState.FAILED);
    expect(failed!.failureReason).toBe(FailureReason.NO_MATCHING_LAUNCHER);
  });

  it("keeps waiting while a matching launcher is alive but busy", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ pollHoldMs: 10_000 }, undefined, { clock });
    const l = await LauncherDriver.register(t, { maxConcurrency: 1 });
    await t.jobs.createJob(echoJob);
    const busy = await l.nextOffer();
    await l.accept(busy);
    const { job } = await t.jobs.createJob({ ...echoJob, matchTimeout: durationFromMs(150) });
    // Heartbeats keep the busy launcher alive past several match timeouts.
    for (let i = 0; i < 4; i++) {
      await l.heartbeat([busy]);
      await clock.pass(100, t.coordinator);
    }
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.QUEUED);
    await l.succeed(busy);
    expect((await l.nextOffer()).job!.id).toBe(job!.id);
  });

  it("backs off exponentially with equal jitter, capped", () => {
    const policy = { retryBackoffMs: 1000, retryBackoffMaxMs: 60_000 };
    expect(retryBackoffMs(1, policy, () => 0)).toBe(500);
    expect(retryBackoffMs(1, policy, () => 1)).toBe(1000);
    expect(retryBackoffMs(4, policy, () => 1)).toBe(8000);
    expect(retryBackoffMs(20, policy, () => 1)).toBe(60_000);
  });
});
