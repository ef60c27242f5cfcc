import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { SessionState } from "../../gen/tether/v1/session_pb.ts";
import { echoJob, type JobRequest } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

const job = (over: JobRequest = {}): JobRequest => ({ ...echoJob, ...over });

describe("targeting and ordering", () => {
  let t: TestCoordinator;
  beforeEach(async () => {
    t = await startTestCoordinator({ pollHoldMs: 200 });
  });
  afterEach(() => t.close());

  const offeredIds = async (l: LauncherDriver, freeSlots = 10) =>
    (await l.poll({ freeSlots })).offers.map((o) => o.job!.id);

  it("offers a job only to launchers with its executor", async () => {
    const { job: claude } = await t.jobs.createJob(job({ executor: "claude-code" }));
    const echoOnly = await LauncherDriver.register(t, { executors: ["echo"] });
    expect(await offeredIds(echoOnly)).toEqual([]);
    const both = await LauncherDriver.register(t, { executors: ["echo", "claude-code"] });
    expect(await offeredIds(both)).toEqual([claude!.id]);
  });

  it("requires every label of the job, with the same value", async () => {
    const { job: gpu } = await t.jobs.createJob(job({ labels: { gpu: "true", os: "linux" } }));
    const partial = await LauncherDriver.register(t, { labels: { gpu: "true" } });
    const wrong = await LauncherDriver.register(t, { labels: { gpu: "false", os: "linux" } });
    expect(await offeredIds(partial)).toEqual([]);
    expect(await offeredIds(wrong)).toEqual([]);
    const full = await LauncherDriver.register(t, { labels: { gpu: "true", os: "linux", zone: "a" } });
    expect(await offeredIds(full)).toEqual([gpu!.id]);
  });

  it("honours a target launcher id and a target hostname", async () => {
    const a = await LauncherDriver.register(t, { hostname: "alpha" });
    const b = await LauncherDriver.register(t, { hostname: "beta" });
    const { job: forB } = await t.jobs.createJob(job({ launcherId: b.id }));
    const { job: onAlpha } = await t.jobs.createJob(job({ hostname: "alpha" }));
    expect(await offeredIds(b)).toEqual([forB!.id]);
    expect(await offeredIds(a)).toEqual([onAlpha!.id]);
  });

  it("dispatches by priority, then first in first out", async () => {
    const low = (await t.jobs.createJob(job({ priority: -5 }))).job!.id;
    const first = (await t.jobs.createJob(job())).job!.id;
    const high = (await t.jobs.createJob(job({ priority: 10 }))).job!.id;
    const second = (await t.jobs.createJob(job())).job!.id;
    const l = await LauncherDriver.register(t);
    expect(await offeredIds(l)).toEqual([high, first, second, low]);
  });

  it("runs at most concurrencyLimit jobs of one key at a time, in order", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.jobs.createJob(job({ concurrencyKey: "repo-1" }))).job!.id);
    const other = (await t.jobs.createJob(job({ concurrencyKey: "repo-2" }))).job!.id;
    const l = await LauncherDriver.register(t, { maxConcurrency: 10 });
    const firstRound = (await l.poll({ freeSlots: 10 })).offers;
    expect(firstRound.map((o) => o.job!.id)).toEqual([ids[0], other]);
    expect(await offeredIds(l)).toEqual([]);
    const head = firstRound[0]!;
    await l.accept(head);
    await l.succeed(head);
    expect(await offeredIds(l)).toEqual([ids[1]]);
  });

  it("returns the first job for a repeated idempotency key, and refuses the key for another request", async () => {
    const a = await t.jobs.createJob(job({ idempotencyKey: "k1" }));
    const b = await t.jobs.createJob(job({ idempotencyKey: "k1" }));
    expect(b.job!.id).toBe(a.job!.id);
    expect(a.existing).toBe(false);
    expect(b.existing).toBe(true);
    await expect(t.jobs.createJob(job({ idempotencyKey: "k1", priority: 3 }))).rejects.toThrow(/different request/);
    expect((await t.jobs.listJobs({})).jobs).toHaveLength(1);
  });

  it("routes a resume to the launcher holding the session, after the turn before it", async () => {
    const a = await LauncherDriver.register(t, { name: "a" });
    const b = await LauncherDriver.register(t, { name: "b" });
    const start = (await t.jobs.createJob(job({ type: JobType.START_SESSION, sessionName: "chat" }))).job!;
    const offer = (await a.poll()).offers[0]!;
    expect(offer.job!.id).toBe(start.id);
    await a.accept(offer);
    const resume = (await t.jobs.createJob(job({ type: JobType.RESUME_SESSION, sessionId: start.sessionId, projectDir: "" })))
      .job!;
    // The session's turn is still running: nobody gets the resume yet.
    expect(await offeredIds(b)).toEqual([]);
    expect(await offeredIds(a)).toEqual([]);
    await a.append(offer, 0, [{ type: "system", subtype: "init", session_id: "claude-uuid-1" }]);
    await a.launchers.appendJobEvents({
      jobId: start.id,
      fencingToken: offer.fencingToken,
      firstOffset: 1n,
      events: [],
      executorSessionId: "claude-uuid-1",
    });
    await a.succeed(offer);
    expect((await t.sessions.getSession({ id: start.sessionId })).session!.state).toBe(SessionState.IDLE);
    expect(await offeredIds(b)).toEqual([]);
    const resumed = (await a.poll()).offers;
    expect(resumed.map((o) => o.job!.id)).toEqual([resume.id]);
    expect(resumed[0]!.executorSessionId).toBe("claude-uuid-1");
    expect(resumed[0]!.job!.projectDir).toBe("/tmp");
  });

  it("refuses a resume of an unknown session and a start under a taken name", async () => {
    await expect(t.jobs.createJob(job({ type: JobType.RESUME_SESSION, sessionId: "ses_nope", projectDir: "" })))
      .rejects.toThrow(/not found/);
    await t.jobs.createJob(job({ type: JobType.START_SESSION, sessionName: "taken" }));
    await expect(t.jobs.createJob(job({ type: JobType.START_SESSION, sessionName: "taken" })))
      .rejects.toThrow(/is taken/);
    expect((await t.jobs.listJobs({ states: [JobState.QUEUED] })).jobs).toHaveLength(1);
  });
});
