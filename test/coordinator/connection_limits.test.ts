import http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { RawConnection } from "../support/raw_connection.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

// Real sockets against a coordinator whose limits are short: each slow or silent connection is closed,
// and work that runs long by design (a held poll, a watch) is not.
const short = { headersTimeoutMs: 300, requestTimeoutMs: 400, idleTimeoutMs: 300, pollHoldMs: 1_500 };

/** Waits for a connection to end without an answer; a connection still open after `ms` fails the test. */
async function expectClosed(connection: RawConnection, ms = 10_000): Promise<void> {
  expect(await connection.nextResponse(ms)).toBeNull();
}

describe("connection limits", () => {
  let t: TestCoordinator;
  afterEach(() => t.close());

  it("closes a connection that never sends a byte", async () => {
    t = await startTestCoordinator(short);
    await expectClosed(await RawConnection.open(t.url));
  });

  it("closes a connection whose request headers never end", async () => {
    t = await startTestCoordinator(short);
    const connection = await RawConnection.open(t.url);
    connection.send("POST /tether.v1.JobService/GetJob HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: applic");
    await expectClosed(connection);
  });

  it("answers 408 to a request whose body stalls, then closes the connection", async () => {
    t = await startTestCoordinator(short);
    const connection = await RawConnection.open(t.url);
    connection.send(
      "POST /tether.v1.JobService/GetJob HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        `authorization: Bearer ${t.tokens.client}\r\ncontent-length: 100\r\n\r\n{"id":`,
    );
    const answer = await connection.nextResponse(10_000);
    expect(answer?.status).toBe(408);
    expect(answer!.body.toString()).toMatch(/did not arrive within 400 ms/);
    await expectClosed(connection);
  });

  it("closes a keep-alive connection left idle after its answer", async () => {
    t = await startTestCoordinator(short);
    const connection = await RawConnection.open(t.url);
    connection.send("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    expect((await connection.nextResponse())?.status).toBe(200);
    await expectClosed(connection);
  });

  it("keeps a held poll and a watch open past every one of these limits", async () => {
    // Limits of a second (a loaded machine may lag a few hundred milliseconds between two requests
    // of a client), and a poll held three times as long.
    t = await startTestCoordinator({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_000, idleTimeoutMs: 1_000, pollHoldMs: 3_000 });
    const { job } = await t.jobs.createJob(echoJob);
    const l = await LauncherDriver.register(t);
    const offer = await l.nextOffer();
    await l.accept(offer);
    // The NDJSON watch is a GET without a body: nothing of it can be late.
    const watch = await fetch(`${t.url}/v1/jobs/${job!.id}/watch`, { headers: { authorization: `Bearer ${t.tokens.client}` } });
    const lines = watch.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect(await lines.read()).toMatchObject({ done: false });
    // A poll held for its whole hold (three times the idle timeout) answers empty, not with a closed connection.
    expect((await l.poll({ freeSlots: 0 })).offers).toEqual([]);
    // And the watch, open all that time, still carries what happens next.
    await l.append(offer, 0, [{ type: "log", text: "still here" }]);
    let text = "";
    while (!text.includes("still here")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the watch ended early: ${text}`);
      text += value;
    }
    await l.succeed(offer);
    expect((await t.jobs.getJob({ id: job!.id })).job!.state).toBe(JobState.SUCCEEDED);
  });

  it("refuses connections past the cap and keeps the ones it holds", async () => {
    t = await startTestCoordinator({ maxConnections: 2, headersTimeoutMs: 60_000 });
    const held = [await RawConnection.open(t.url), await RawConnection.open(t.url)];
    await expectClosed(await RawConnection.open(t.url));
    expect(held.map((c) => c.closed)).toEqual([false, false]);
    for (const c of held) c.close();
  });

  it("tells HTTP/2 clients how many streams a connection may carry, and closes an idle HTTP/2 connection", async () => {
    t = await startTestCoordinator({ ...short, maxStreamsPerConnection: 2 });
    const session = http2.connect(t.url);
    session.on("error", () => {});
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    expect(settings.maxConcurrentStreams).toBe(2);
    await new Promise<void>((resolve) => session.once("close", () => resolve()));
    expect(session.closed).toBe(true);
  });

  it("resets an HTTP/2 request whose body stalls", async () => {
    t = await startTestCoordinator(short);
    const session = http2.connect(t.url);
    session.on("error", () => {});
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/tether.v1.JobService/GetJob",
        "content-type": "application/json",
        authorization: `Bearer ${t.tokens.client}`,
      });
      stream.on("error", () => {});
      stream.write('{"id":');
      await new Promise<void>((resolve) => stream.once("close", () => resolve()));
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    } finally {
      session.destroy();
    }
  });
});
