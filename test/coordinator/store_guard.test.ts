/**
 * A nearly full store refuses new jobs and events with RESOURCE_EXHAUSTED,
 * changing nothing, while what is under way can still end and everything
 * can be read; space freed admits new work again without a restart. SQLite
 * only: on PostgreSQL the server guards its own disk (its "disk full"
 * errors are mapped in storage_errors.ts, tested by the fault suite).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { ManualClock } from "../support/manual_clock.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { testBackend } from "../support/test_database.ts";

const day = 24 * 3_600_000;

async function refusal(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return await call.then(() => undefined, (e: unknown) => ConnectError.from(e));
}

describe.skipIf(testBackend !== "sqlite")("a nearly full store", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("refuses new jobs and events at 90% of --db-max-bytes, while running jobs finish and jobs are read and cancelled", async () => {
    const clock = new ManualClock();
    t = await startTestCoordinator({ dbMaxBytes: 4 * 1024 * 1024, retentionMs: day, leaseMs: 100 * day }, undefined, { clock });
    const l = await LauncherDriver.register(t);
    const { job: running } = await t.jobs.createJob(echoJob);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const parameters = { prompt: "p".repeat(100_000) };
    // Jobs no launcher takes, until the guard refuses one (it measures at most once a second while there is room).
    const queued: string[] = [];
    let refused: ConnectError | undefined;
    for (let i = 0; i < 1_000 && !refused; i++) {
      refused = await refusal(t.jobs.createJob({ ...echoJob, executor: "nobody-has-this", parameters }).then((r) => {
        queued.push(r.job!.id);
      }));
      // Past the guard's second, so that each job has it measure again.
      if (!refused) await clock.pass(1_001, t.coordinator);
    }
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toMatch(/store is nearly full \(the database uses .* of its --db-max-bytes 4\.0 MiB\); nothing was changed/);

    // Refusals change nothing: events are refused as well, and the launcher will send them again.
    const before = await snapshotDatabase(t.dbPath);
    expect((await refusal(t.jobs.createJob(echoJob)))?.code).toBe(Code.ResourceExhausted);
    expect((await refusal(l.append(offer, 0, [{ n: 0 }])))?.code).toBe(Code.ResourceExhausted);
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);

    // What is under way ends, and everything reads.
    await l.heartbeat([offer]);
    await l.succeed(offer, { type: "result", result: "r".repeat(50_000) });
    expect((await t.jobs.getJob({ id: running!.id })).job!.state).toBe(JobState.SUCCEEDED);
    await t.jobs.cancelJob({ id: queued[0]! });
    expect((await t.jobs.getJob({ id: queued[0]! })).job!.state).toBe(JobState.CANCELLED);
    expect((await t.jobs.listJobs({ pageSize: 1000 })).jobs).toHaveLength(queued.length + 1);

    // Retention frees the finished jobs' pages: new work is taken again, with no restart.
    for (const id of queued) await t.jobs.cancelJob({ id });
    await clock.pass(day + 1, t.coordinator);
    await t.coordinator.engine.retention.sweepNow();
    const { job: after } = await t.jobs.createJob(echoJob);
    expect(after!.state).toBe(JobState.QUEUED);
  });

  it("refuses new jobs while the disk has less free than --min-free-disk, naming the reserve", async () => {
    // A reserve larger than any disk: the guard's measure of the real disk refuses at once.
    t = await startTestCoordinator({ minFreeDiskBytes: Number.MAX_SAFE_INTEGER });
    const refused = await refusal(t.jobs.createJob(echoJob));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toMatch(/its disk has .* MiB free, under the --min-free-disk reserve of .* MiB/);
    expect((await t.jobs.listJobs({})).jobs).toHaveLength(0);
  });
});
