import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { ManualClock } from "../support/manual_clock.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

const hour = 3_600_000;
const day = 24 * hour;

async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  return await promise.then(() => "ok" as const, (e) => ConnectError.from(e).code);
}

describe("retention", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("deletes finished jobs with their events and labels once they outlive it, and nothing else", async () => {
    const clock = new ManualClock();
    // A lease longer than the test's hours, so that the launcher stays live while the clock moves.
    t = await startTestCoordinator({ retentionMs: day, launcherRetentionMs: 0, leaseMs: 100 * day }, undefined, { clock });
    const l = await LauncherDriver.register(t, { labels: { pool: "a" } });
    const { job: old } = await t.jobs.createJob({ ...echoJob, labels: { pool: "a" } });
    const oldOffer = await l.nextOffer();
    await l.accept(oldOffer);
    // More events than one deletion step takes (2,000), so that the job goes in several steps.
    for (let from = 0; from < 5_000; from += 1_000) {
      await l.append(oldOffer, from, Array.from({ length: 1_000 }, (_, i) => ({ n: from + i })));
    }
    await l.succeed(oldOffer);
    await clock.pass(12 * hour, t.coordinator);
    const { job: running } = await t.jobs.createJob(echoJob);
    await l.accept(await l.nextOffer());
    const { job: young } = await t.jobs.createJob({ ...echoJob, executor: "nobody-has-this" });
    await t.jobs.cancelJob({ id: young!.id });
    const { job: queued } = await t.jobs.createJob({ ...echoJob, executor: "nobody-has-this" });
    await clock.pass(12 * hour + 1, t.coordinator);
    const heartbeat = await l.heartbeat([]);
    expect(heartbeat.deregistered).toBe(false);

    const deleted = await t.coordinator.engine.retention.sweepNow();
    expect(deleted).toMatchObject({ jobs: 1, events: 5_000 });
    expect(await codeOf(t.jobs.getJob({ id: old!.id }))).toBe(Code.NotFound);
    const db = t.coordinator.engine.db;
    expect(await db.selectFrom("job_events").select("job_id").where("job_id", "=", old!.id).execute()).toEqual([]);
    expect(await db.selectFrom("job_labels").select("job_id").where("job_id", "=", old!.id).execute()).toEqual([]);
    for (const kept of [running, young, queued]) expect(await codeOf(t.jobs.getJob({ id: kept!.id }))).toBe("ok");
    // A second sweep finds nothing more.
    expect(await t.coordinator.engine.retention.sweepNow()).toEqual({ jobs: 0, events: 0, sessions: 0, launchers: 0 });
  });

  it("sweeps every quarter of a retention shorter than its ten minutes, on its own", async () => {
    t = await startTestCoordinator({ retentionMs: 2_000, launcherRetentionMs: 0 });
    const { job } = await t.jobs.createJob({ ...echoJob, executor: "nobody-has-this" });
    await t.jobs.cancelJob({ id: job!.id });
    // Deleted by the coordinator's own sweep (every 1 s here), with no call to sweepNow.
    for (const deadline = Date.now() + 15_000; await codeOf(t.jobs.getJob({ id: job!.id })) === "ok";) {
      expect(Date.now(), "the finished job to be deleted").toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("keeps a session while a job of it is kept, and deletes it once none is left", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ retentionMs: day }, undefined, { clock });
    const l = await LauncherDriver.register(t, { executors: ["claude-code"] });
    const { job } = await t.jobs.createJob({ ...echoJob, type: JobType.START_SESSION, executor: "claude-code" });
    const offer = await l.nextOffer();
    await l.accept(offer);
    await l.finish(offer, { state: JobState.SUCCEEDED, exitCode: 0, result: { ok: true }, executorSessionId: "c-1" });
    const sessionId = job!.sessionId;
    await clock.pass(day - 1, t.coordinator);
    await t.coordinator.engine.retention.sweepNow();
    expect(await codeOf(t.sessions.getSession({ id: sessionId }))).toBe("ok");
    await clock.pass(2, t.coordinator);
    expect(await t.coordinator.engine.retention.sweepNow()).toMatchObject({ jobs: 1, sessions: 1 });
    expect(await codeOf(t.sessions.getSession({ id: sessionId }))).toBe(Code.NotFound);
  });

  it("deletes launchers gone for longer than theirs, and keeps live ones", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ launcherRetentionMs: day }, undefined, { clock });
    const gone = await LauncherDriver.register(t, { name: "gone" });
    await gone.launchers.deregisterLauncher({});
    await clock.pass(day + 1, t.coordinator);
    const live = await LauncherDriver.register(t, { name: "live" });
    expect(await t.coordinator.engine.retention.sweepNow()).toMatchObject({ launchers: 1 });
    const { launchers } = await t.operator.listLaunchers({});
    expect(launchers.map((x) => [x.name, x.state])).toEqual([["live", LauncherState.ONLINE]]);
    expect(live.id).not.toBe(gone.id);
  });

  it("keeps everything with a retention of 0", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ retentionMs: 0, launcherRetentionMs: 0 }, undefined, { clock });
    const { job } = await t.jobs.createJob(echoJob);
    await t.jobs.cancelJob({ id: job!.id });
    await clock.pass(3650 * day, t.coordinator);
    expect(await t.coordinator.engine.retention.sweepNow()).toEqual({ jobs: 0, events: 0, sessions: 0, launchers: 0 });
    expect(await codeOf(t.jobs.getJob({ id: job!.id }))).toBe("ok");
  });
});
