import { once } from "node:events";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readJobEvents } from "../../coordinator/storage/read_job_events.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator, until } from "../support/test_coordinator.ts";

describe("a watch and its reader", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("replays a long log a page at a time, each page within its budget and never empty", async () => {
    t = await startTestCoordinator();
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const big = "x".repeat(100_000);
    await l.append(offer, 0, [{ n: 0, big }, { n: 1, big }, { n: 2 }, { n: 3 }, { n: 4, big }]);
    const read = (from: number, maxChars: number) =>
      readJobEvents(t.coordinator.engine.db, job!.id, from, { limit: 500, maxChars });
    // The event that crosses the budget ends the page; one larger than the budget still comes alone.
    const first = await read(0, 150_000);
    expect(first.events.map((e) => e.offset)).toEqual([0, 1]);
    expect(first.more).toBe(true);
    expect((await read(0, 1_000)).events.map((e) => e.offset)).toEqual([0]);
    const rest = await read(2, 150_000);
    // Under the budget and the limit: that was all there is.
    expect(rest.events.map((e) => e.offset)).toEqual([2, 3, 4]);
    expect(rest.more).toBe(false);
    expect(await read(5, 150_000)).toEqual({ events: [], more: false });
  });

  it("drops an NDJSON watch whose reader takes nothing, while everyone else is served", async () => {
    t = await startTestCoordinator({ watchStallTimeoutMs: 300 });
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    // About 14 MB of events: far more than the socket buffers between the coordinator and a reader.
    const big = "x".repeat(100_000);
    for (let batch = 0; batch < 4; batch++) {
      await l.append(offer, batch * 35, Array.from({ length: 35 }, (_, i) => ({ n: batch * 35 + i, big })));
    }
    const { port } = new URL(t.url);
    const stuck = net.connect(Number(port), "127.0.0.1");
    await once(stuck, "connect");
    stuck.on("error", () => {});
    stuck.pause();
    stuck.write(`GET /v1/jobs/${job!.id}/watch HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${t.tokens.client}\r\n\r\n`);
    const hub = t.coordinator.engine.watchers;
    await until(() => hub.watching(job!.id) === 1, "the stuck watch to start");
    // Meanwhile the coordinator serves everyone else.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await t.jobs.getJob({ id: job!.id })).job!.nextEventOffset).toBe(140n);
    await until(() => hub.watching(job!.id) === 0, "the stuck watch to be dropped");
    // The reader, resuming, finds its stream cut short: no end of the job, and the connection closed.
    let received = "";
    stuck.on("data", (chunk: Buffer) => received += chunk.toString("latin1"));
    stuck.resume();
    await once(stuck, "close");
    expect(received.length).toBeGreaterThan(0);
    expect(received).not.toContain("JOB_STATE_SUCCEEDED");
    // A reader that keeps up gets the job (ended: it comes first) and the whole log.
    await l.succeed(offer);
    const whole = await (await fetch(`${t.url}/v1/jobs/${job!.id}/watch`, {
      headers: { authorization: `Bearer ${t.tokens.client}` },
    })).text();
    const lines = whole.trim().split("\n").map((line) => JSON.parse(line) as { event?: unknown; job?: { state: string } });
    expect(lines.filter((m) => m.event).length).toBe(140);
    expect(lines[0]).toMatchObject({ job: { state: "JOB_STATE_SUCCEEDED" } });
  });
});
