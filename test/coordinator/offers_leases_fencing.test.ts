import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { waitForJob } from "../support/coordinator_process.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { heldPolls } from "../support/held_polls.ts";
import { ManualClock } from "../support/manual_clock.ts";


async function codeOf(promise: Promise<unknown>): Promise<Code> {
  try {
    await promise;
  } catch (e) {
    return ConnectError.from(e).code;
  }
  throw new Error("expected the call to fail");
}

describe("offers, leases and fencing", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("returns an offer that is not accepted in time to the queue without burning an attempt", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ acceptTimeoutMs: 300, pollHoldMs: 10_000 }, undefined, { clock });
    const { job } = await t.jobs.createJob(echoJob);
    const silent = await LauncherDriver.register(t);
    const [lost] = (await silent.poll()).offers;
    expect(lost!.job!.id).toBe(job!.id);
    // A second launcher's held poll receives the job once the first offer expires.
    const other = await LauncherDriver.register(t);
    const next = other.nextOffer();
    await heldPolls(t.coordinator, 1, "the second launcher's poll");
    await clock.pass(299, t.coordinator);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.OFFERED);
    await clock.pass(1, t.coordinator);
    const offer = await next;
    expect(offer.job!.id).toBe(job!.id);
    expect(offer.job!.attempt).toBe(0);
    expect(offer.job!.failureReason).toBe(FailureReason.OFFER_EXPIRED);
    expect(offer.fencingToken).not.toBe(lost!.fencingToken);
    // The job is the other launcher's now.
    expect(await codeOf(silent.accept(lost!))).toBe(Code.PermissionDenied);
    const { job: running } = await other.accept(offer);
    expect(running!.state).toBe(JobState.RUNNING);
    expect(running!.attempt).toBe(1);
  });

  it("accepts the same offer twice without change", async () => {
    t = await startTestCoordinator();
    await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    const first = await l.accept(offer);
    const again = await l.accept(offer);
    expect(again.job!.state).toBe(JobState.RUNNING);
    expect(again.job!.attempt).toBe(1);
    expect(again.job!.startTime).toEqual(first.job!.startTime);
  });

  it("ends the running jobs of a launcher whose lease lapsed LAUNCHER_LOST and retries them elsewhere", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ leaseMs: 600, heartbeatIntervalMs: 200, retryBackoffMs: 0 }, undefined, { clock });
    const { job } = await t.jobs.createJob(echoJob);
    const doomed = await LauncherDriver.register(t);
    const offer = await doomed.nextOffer();
    await doomed.accept(offer);
    await clock.pass(599, t.coordinator);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.RUNNING);
    // The survivor registers (and so holds a lease) after the doomed launcher's last sign of life.
    const survivor = await LauncherDriver.register(t);
    const next = survivor.nextOffer();
    await clock.pass(1, t.coordinator);
    const retry = await next;
    expect(retry.job!.id).toBe(job!.id);
    expect(retry.job!.failureReason).toBe(FailureReason.LAUNCHER_LOST);
    expect((await survivor.accept(retry)).job!.attempt).toBe(2);
    const { launchers } = await t.operator.listLaunchers({});
    expect(launchers.find((l) => l.id === doomed.id)!.state).toBe(LauncherState.OFFLINE);
    expect(launchers.find((l) => l.id === survivor.id)!.state).toBe(LauncherState.ONLINE);
    // The lost launcher's late report is refused and changes nothing.
    expect(await codeOf(doomed.succeed(offer))).toBe(Code.PermissionDenied);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.RUNNING);
    const beat = await doomed.heartbeat([offer]);
    expect(beat.deregistered).toBe(true);
    expect(beat.staleJobIds).toEqual([job!.id]);
  });

  it("refuses reports with a stale token or from another launcher, changing nothing", async () => {
    t = await startTestCoordinator();
    await t.jobs.createJob(echoJob);
    const owner = await LauncherDriver.register(t);
    const intruder = await LauncherDriver.register(t);
    const offer = await owner.nextOffer();
    await owner.accept(offer);
    // A token of an earlier attempt would be refused too; a made-up one, with the right epoch, never verifies.
    const [epoch] = offer.fencingToken.split(".");
    const forged = { ...offer, fencingToken: `${epoch}.${"A".repeat(22)}` };
    const bare = { ...offer, fencingToken: epoch! };
    for (const stale of [forged, bare]) {
      expect(await codeOf(owner.succeed(stale))).toBe(Code.FailedPrecondition);
      expect(await codeOf(owner.append(stale, 0, [{ type: "log" }]))).toBe(Code.FailedPrecondition);
    }
    const stale = forged;
    // The intruder holds the real token, but the job is not its own.
    expect(await codeOf(intruder.succeed(offer))).toBe(Code.PermissionDenied);
    expect(await codeOf(intruder.accept(offer))).toBe(Code.PermissionDenied);
    const { job } = await t.jobs.getJob({ id: offer.job!.id });
    expect(job!.state).toBe(JobState.RUNNING);
    expect(job!.nextEventOffset).toBe(0n);
    expect((await owner.heartbeat([offer])).staleJobIds).toEqual([]);
    expect((await owner.heartbeat([stale])).staleJobIds).toEqual([offer.job!.id]);
    expect((await owner.succeed(offer)).job!.state).toBe(JobState.SUCCEEDED);
    // A retried report of the same ending is harmless.
    expect((await owner.succeed(offer)).job!.state).toBe(JobState.SUCCEEDED);
  });

  it("ends a replaced launcher instance's jobs when the same identity registers anew", async () => {
    t = await startTestCoordinator({ retryBackoffMs: 0 });
    const { job } = await t.jobs.createJob(echoJob);
    const before = await LauncherDriver.register(t, { name: "box", hostname: "h1" });
    await before.accept(await before.nextOffer());
    const after = await LauncherDriver.register(t, { name: "box", hostname: "h1" });
    expect(after.id).toBe(before.id);
    const lost = await waitForJob(t, job!.id, (j) => j.failureReason === FailureReason.LAUNCHER_LOST);
    expect([JobState.RETRY_WAIT, JobState.QUEUED, JobState.OFFERED]).toContain(lost.state);
  });

  it("ends an attempt its launcher no longer runs (absent from its heartbeats) LAUNCHER_LOST", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ heartbeatIntervalMs: 100, leaseMs: 10_000, retryBackoffMs: 0 }, undefined, { clock });
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    // Within the grace of two heartbeat periods an unlisted attempt may just be starting: it stays.
    await l.heartbeat([]);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.RUNNING);
    await clock.pass(250, t.coordinator);
    const beat = await l.heartbeat([]);
    expect(beat.cancelJobIds).toEqual([]);
    const lost = await waitForJob(t, job!.id, (j) => j.failureReason === FailureReason.LAUNCHER_LOST);
    expect(lost.error).toMatch(/not in its heartbeat/);
    expect(await codeOf(l.succeed(offer))).toBe(Code.FailedPrecondition);
  });

  it("drains a launcher: its held poll learns at once and it gets no new jobs", async () => {
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const l = await LauncherDriver.register(t);
    const poll = l.poll();
    await t.operator.drainLauncher({ launcherId: l.id });
    expect((await poll).drain).toBe(true);
    await t.jobs.createJob(echoJob);
    // A draining launcher that has not said it knows is answered at once (drain), with no offer.
    const answer = await l.poll({ timeoutMs: 10_000 });
    expect(answer.drain).toBe(true);
    expect(answer.offers).toEqual([]);
  });

  it("deregisters a launcher: its held poll answers deregistered and its offers return to the queue", async () => {
    t = await startTestCoordinator({ pollHoldMs: 30_000 });
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    await l.nextOffer();
    const poll = l.poll({ freeSlots: 0 });
    await t.operator.removeLauncher({ launcherId: l.id });
    expect((await poll).deregistered).toBe(true);
    const { job: requeued } = await t.jobs.getJob({ id: job!.id });
    expect(requeued!.state).toBe(JobState.QUEUED);
    expect(requeued!.attempt).toBe(0);
    expect(requeued!.failureReason).toBe(FailureReason.LAUNCHER_LOST);
    expect(requeued!.error).toMatch(/deregistered before it accepted the offer/);
  });
});
