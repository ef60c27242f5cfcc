import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readJobEvents } from "../../coordinator/storage/read_job_events.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { envelope } from "../support/connect_envelope.ts";
import { ndjsonLines } from "../support/ndjson_lines.ts";
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
    const read = (from: number, maxBytes: number) =>
      readJobEvents(t.coordinator.engine.db, job!.id, from, { limit: 500, maxBytes });
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
    t = await startTestCoordinator({ stallTimeoutMs: 300 });
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

  /** A job running on a launcher, with `events` events of 100 KB each (about 14 MB for 140). */
  async function runningJob(events = 0) {
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    const big = "x".repeat(100_000);
    for (let n = 0; n < events; n += 35) {
      await l.append(offer, n, Array.from({ length: 35 }, (_, i) => ({ n: n + i, big })));
    }
    return { id: job!.id, l, offer };
  }

  /**
   * A connection that sends `request` and then reads nothing, and when the
   * coordinator's end of it closes.
   */
  async function stuckReader(...request: (string | Uint8Array)[]): Promise<{ stuck: net.Socket; closed: Promise<unknown> }> {
    // The next connection the coordinator accepts is this one: the test opens no other meanwhile.
    const accepted = once(t.coordinator.server, "connection") as Promise<[net.Socket]>;
    const stuck = net.connect(Number(new URL(t.url).port), "127.0.0.1");
    await once(stuck, "connect");
    stuck.on("error", () => {});
    stuck.pause();
    for (const part of request) stuck.write(part);
    const [ours] = await accepted;
    return { stuck, closed: once(ours, "close") };
  }

  it("cuts off a WatchJob stream (the RPC) whose reader takes nothing", async () => {
    t = await startTestCoordinator({ stallTimeoutMs: 300 });
    const { id } = await runningJob(140);
    const body = envelope(JSON.stringify({ id }));
    const { stuck, closed } = await stuckReader(
      `POST /tether.v1.JobService/WatchJob HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${t.tokens.client}\r\n` +
        `content-type: application/connect+json\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    );
    const hub = t.coordinator.engine.watchers;
    await until(() => hub.watching(id) === 1, "the stuck watch to start");
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    await until(() => hub.watching(id) === 0, "the stuck watch to be cut off");
    await closed;
    stuck.destroy();
  });

  it("cuts off a unary answer whose reader takes nothing (an HTTP/2 stream whose reader grants no window)", async () => {
    t = await startTestCoordinator({ stallTimeoutMs: 300 });
    // About 1 MiB of answer: far past the 64 KiB an HTTP/2 stream may send before its reader grants more.
    const parameters = { prompt: "p".repeat(200_000) };
    for (let i = 0; i < 5; i++) await t.jobs.createJob({ ...echoJob, parameters });
    const session = http2.connect(t.url);
    session.on("error", () => {});
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/tether.v1.JobService/ListJobs",
        "content-type": "application/json",
        authorization: `Bearer ${t.tokens.client}`,
      });
      stream.on("error", () => {});
      stream.pause();
      stream.end(JSON.stringify({ view: "JOB_VIEW_FULL" }));
      const [headers] = await once(stream, "response") as [http2.IncomingHttpHeaders];
      expect(headers[":status"]).toBe(200);
      // The coordinator resets the stream, and the session serves the next request.
      await once(stream, "close");
      expect(stream.rstCode).not.toBe(http2.constants.NGHTTP2_NO_ERROR);
      const health = session.request({ ":path": "/healthz" });
      health.setEncoding("utf8");
      let text = "";
      health.on("data", (chunk: string) => text += chunk);
      await once(health, "end");
      expect(text).toBe("ok\n");
    } finally {
      session.close();
    }
  });

  it("sends a keepalive on a quiet watch, in NDJSON and in the RPC, and events as they come", async () => {
    t = await startTestCoordinator({ watchKeepaliveMs: 100 });
    const { id, l, offer } = await runningJob();
    const ndjson = await fetch(`${t.url}/v1/jobs/${id}/watch`, { headers: { authorization: `Bearer ${t.tokens.client}` } });
    const lines = ndjsonLines(ndjson.body!);
    expect(await lines.next()).toMatchObject({ value: { job: { state: "JOB_STATE_RUNNING" } } });
    expect(await lines.next()).toEqual({ done: false, value: { keepalive: {} } });
    expect(await lines.next()).toEqual({ done: false, value: { keepalive: {} } });
    const rpc = t.jobs.watchJob({ id })[Symbol.asyncIterator]();
    expect((await rpc.next()).value?.kind.case).toBe("job");
    expect((await rpc.next()).value?.kind.case).toBe("keepalive");
    // An event still comes as it is stored, between keepalives.
    await l.append(offer, 0, [{ n: 0 }]);
    const next = async (it: AsyncIterator<{ kind: { case: string | undefined } }>) => {
      for (;;) {
        const { value } = await it.next();
        if (value?.kind.case !== "keepalive") return value?.kind.case;
      }
    };
    expect(await next(rpc)).toBe("event");
    for (;;) {
      const { value } = await lines.next();
      if (!("keepalive" in value)) {
        expect(value).toMatchObject({ event: { data: { n: 0 } } });
        break;
      }
    }
    await rpc.return?.();
    await lines.return(undefined);
  });
});
