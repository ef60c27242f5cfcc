import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { waitForJob } from "../support/coordinator_process.ts";
import { testBackend } from "../support/test_database.ts";
import { heldPolls } from "../support/held_polls.ts";


if (testBackend !== "postgres") console.log("replicas.test.ts: several coordinators share a PostgreSQL database only; skipped on SQLite");

describe.skipIf(testBackend !== "postgres")("several coordinators on one PostgreSQL database", () => {
  let a: TestCoordinator;
  let b: TestCoordinator;
  beforeEach(async () => {
    a = await startTestCoordinator({ pollHoldMs: 30_000 });
    b = await startTestCoordinator({ pollHoldMs: 30_000 }, a.dbPath);
  });
  afterEach(async () => {
    await b.stop();
    await a.close();
  });

  it("hands a job created on one replica to a poll held on another, at once", async () => {
    const l = await LauncherDriver.register(b);
    const poll = l.poll();
    await heldPolls(b.coordinator, 1, "the poll to be held on B");
    const { job } = await a.jobs.createJob(echoJob);
    const answer = await poll;
    expect(answer.offers.map((o) => o.job!.id)).toEqual([job!.id]);
  });

  it("delivers a cancel made on one replica to the launcher's poll held on another", async () => {
    const l = await LauncherDriver.register(b);
    await a.jobs.createJob(echoJob);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const poll = l.poll({ freeSlots: 0 });
    await heldPolls(b.coordinator, 1, "the poll to be held on B");
    await a.jobs.cancelJob({ id: offer.job!.id });
    expect((await poll).cancelJobIds).toEqual([offer.job!.id]);
  });

  it("streams on one replica the events and end that arrive through another", async () => {
    const l = await LauncherDriver.register(a);
    await a.jobs.createJob(echoJob);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const seen: string[] = [];
    const watching = (async () => {
      for await (const m of b.jobs.watchJob({ id: offer.job!.id })) {
        seen.push(m.kind.case === "event" ? `event ${m.kind.value.offset}` : m.kind.case === "job" ? `job ${JobState[m.kind.value.state]}` : String(m.kind.case));
        if (m.kind.case === "job" && m.kind.value.state === JobState.RUNNING) {
          await l.append(offer, 0, [{ n: 0 }]);
          await l.succeed(offer);
        }
      }
    })();
    await watching;
    expect(seen).toEqual(["job RUNNING", "event 0", "job SUCCEEDED"]);
  });

  it("claims each job once when launchers on both replicas compete", async () => {
    const launchers = await Promise.all([a, b, a, b].map((c) => LauncherDriver.register(c, { maxConcurrency: 5 })));
    const created = await Promise.all(Array.from({ length: 60 }, () => a.jobs.createJob(echoJob)));
    const taken: string[] = [];
    await Promise.all(launchers.map(async (l) => {
      for (;;) {
        const { offers } = await l.poll({ freeSlots: 5, timeoutMs: 5_000 });
        if (offers.length === 0) return;
        for (const o of offers) {
          taken.push(o.job!.id);
          await l.accept(o);
          await l.succeed(o);
        }
      }
    }));
    expect(taken.sort()).toEqual(created.map((c) => c.job!.id).sort());
    const last = created.at(-1)!.job!.id;
    expect((await waitForJob(b, last, (j) => j.state === JobState.SUCCEEDED)).attempt).toBe(1);
  });
});
