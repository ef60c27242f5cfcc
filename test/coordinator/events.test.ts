import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { WatchJobResponse } from "../../gen/tether/v1/job_service_pb.ts";
import { EventOffsetMismatchSchema } from "../../gen/tether/v1/launcher_service_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";


describe("job events", () => {
  let t: TestCoordinator;
  let l: LauncherDriver;
  let offer: Offer;
  beforeEach(async () => {
    t = await startTestCoordinator({ maxJobEventBytes: 4096 });
    await t.jobs.createJob(echoJob);
    l = await LauncherDriver.register(t);
    offer = await l.nextOffer();
    await l.accept(offer);
  });
  afterEach(() => t.close());

  /** Every stored event of the (ended) job: the watch stream ends by itself. */
  const stored = async () => {
    const events = [];
    for await (const m of t.jobs.watchJob({ id: offer.job!.id }, { signal: AbortSignal.timeout(5_000) })) {
      if (m.kind.case === "event") events.push(m.kind.value);
    }
    return events;
  };

  it("refuses a batch that would leave a gap, naming the offset to resend from", async () => {
    await l.append(offer, 0, [{ n: 0 }, { n: 1 }]);
    const error = await l.append(offer, 5, [{ n: 5 }]).catch((e) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.OutOfRange);
    const [detail] = (error as ConnectError).findDetails(EventOffsetMismatchSchema);
    expect(detail!.expectedOffset).toBe(2n);
    expect((error as ConnectError).rawMessage).toMatch(/resend from offset 2/);
  });

  it("ignores events it already has, so a resent batch is harmless", async () => {
    expect((await l.append(offer, 0, [{ n: 0 }, { n: 1 }])).nextOffset).toBe(2n);
    expect((await l.append(offer, 0, [{ n: 0 }, { n: 1 }])).nextOffset).toBe(2n);
    expect((await l.append(offer, 1, [{ n: 1 }, { n: 2 }])).nextOffset).toBe(3n);
    await l.succeed(offer);
    expect((await stored()).map((e) => [e.offset, e.data])).toEqual([
      [0n, { n: 0 }],
      [1n, { n: 1 }],
      [2n, { n: 2 }],
    ]);
  });

  it("refuses to finish before every event it reports is stored", async () => {
    await l.append(offer, 0, [{ n: 0 }]);
    await expect(l.launchers.finishJob({
      jobId: offer.job!.id,
      fencingToken: offer.fencingToken,
      state: JobState.SUCCEEDED,
      nextEventOffset: 3n,
    })).rejects.toThrow(/append the events from offset 1/);
    expect((await t.jobs.getJob({ id: offer.job!.id })).job!.state).toBe(JobState.RUNNING);
  });

  it("replays from an offset, follows live, and ends when the job ends", async () => {
    await l.append(offer, 0, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    const seen: WatchJobResponse[] = [];
    let resolveFirstLive = () => {};
    const sawReplay = new Promise<void>((r) => (resolveFirstLive = r));
    const watching = (async () => {
      for await (const m of t.jobs.watchJob({ id: offer.job!.id, fromOffset: 1n })) {
        seen.push(m);
        if (m.kind.case === "event" && m.kind.value.offset === 2n) resolveFirstLive();
      }
    })();
    await sawReplay;
    await l.append(offer, 3, [{ n: 3 }]);
    await l.succeed(offer, { type: "result", result: "ok" });
    await watching; // the stream ends by itself
    const kinds = seen.map((m) =>
      m.kind.case === "event" ? `event ${m.kind.value.offset}` : m.kind.case === "job" ? `job ${JobState[m.kind.value.state]}` : m.kind.case
    );
    expect(kinds).toEqual(["job RUNNING", "event 1", "event 2", "event 3", "job SUCCEEDED"]);
    const last = seen.at(-1)!;
    expect(last.kind.case === "job" && last.kind.value.result).toEqual({ type: "result", result: "ok" });
  });

  it("stores a truncation marker once a job's events pass the byte limit", async () => {
    const big = { text: "x".repeat(1500) };
    const { nextOffset } = await l.append(offer, 0, [big, big, big, big, big]);
    expect(nextOffset).toBe(5n);
    await l.succeed(offer);
    const events = await stored();
    expect(events.map((e) => e.offset)).toEqual([0n, 1n, 2n]);
    expect(events[2]!.data).toMatchObject({ type: "truncated" });
  });
});
