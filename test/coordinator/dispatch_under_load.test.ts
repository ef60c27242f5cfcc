import { afterEach, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

describe("dispatch under load", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("runs every job exactly once across many pollers, never past a launcher's slots", async () => {
    t = await startTestCoordinator({ pollHoldMs: 2_000 });
    const total = 300;
    const slots = [1, 2, 3, 4, 5];
    const launchers = await Promise.all(slots.map((n) => LauncherDriver.register(t, { maxConcurrency: n })));
    const ranBy = new Map<string, string[]>();
    let done = 0;
    const maxInFlight = new Map<string, number>();
    const work = launchers.map(async (l, i) => {
      let inFlight = 0;
      const running = new Set<Promise<void>>();
      while (done < total) {
        const { offers } = await l.poll({ freeSlots: slots[i]! - inFlight });
        for (const offer of offers) {
          inFlight++;
          maxInFlight.set(l.id, Math.max(maxInFlight.get(l.id) ?? 0, inFlight));
          const run = (async () => {
            await l.accept(offer);
            ranBy.set(offer.job!.id, [...(ranBy.get(offer.job!.id) ?? []), l.id]);
            await l.succeed(offer);
            inFlight--;
            done++;
          })();
          running.add(run);
          void run.finally(() => running.delete(run)).catch(() => {});
        }
        // With every slot busy, wait for one to free before polling again (a poll with no free slot holds).
        if (inFlight >= slots[i]!) await Promise.race(running);
      }
      await Promise.all(running);
    });
    // Jobs arrive while the launchers poll, in concurrent bursts.
    for (let i = 0; i < total; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, k) =>
        t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/tmp", parameters: { n: i + k } })));
    }
    await Promise.all(work);
    expect(ranBy.size).toBe(total);
    expect([...ranBy.values()].filter((by) => by.length !== 1)).toEqual([]);
    for (const [i, l] of launchers.entries()) expect(maxInFlight.get(l.id) ?? 0).toBeLessThanOrEqual(slots[i]!);
    const { jobs } = await t.jobs.listJobs({ pageSize: 1000 });
    expect(jobs.filter((j) => j.state !== JobState.SUCCEEDED)).toEqual([]);
  });
});
