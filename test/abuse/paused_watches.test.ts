/**
 * Attack 1: many NDJSON watches of one job with a long log, whose readers
 * never read. Defence: the watch writes no faster than its reader takes
 * (backpressure), and a reader that takes nothing for --stall-timeout
 * is cut off.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AbuseRig, startAbuseRig } from "./abuse_rig.ts";
import { mib, recordAttack, type LoadRow } from "./abuse_figures.ts";
import { abuseFlags, allClosed, appendBigEvents, runningJob } from "./attack_load.ts";
import { attackTimeoutMs, bySize } from "./abuse_size.ts";
import { openSockets } from "./tracked_socket.ts";
import { lostJobs, underAttack } from "./under_attack.ts";

const watchers = bySize(20, 200);
// More than the kernel buffers between coordinator and reader hold (about 4 MiB on loopback here), so
// that every watch stalls with part of the log still to write.
const events = bySize(80, 160);
const eventBytes = 100_000;
const stallTimeoutMs = bySize(2_000, 5_000);

describe("attack 1: paused NDJSON watches of a job with a long log", () => {
  let rig: AbuseRig;
  const rows: LoadRow[] = [];
  let closedWithinMs = 0;
  beforeAll(async () => {
    rig = await startAbuseRig([...abuseFlags, "--stall-timeout", `${stallTimeoutMs}ms`]);
  });
  afterAll(async () => {
    recordAttack({
      attack: "1. Paused watches",
      setup: `${watchers} NDJSON watches (\`GET /v1/jobs/<id>/watch\`) of one running job with ${events} events of ` +
        `${eventBytes / 1000} kB (${mib(events * eventBytes)} MiB), each on a socket the reader never reads; ` +
        `coordinator run with \`--stall-timeout ${stallTimeoutMs / 1000}s\``,
      defence: "a watch is written no faster than its reader takes it (it waits for the socket to drain), and a " +
        "reader that takes nothing for `--stall-timeout` (default 60s) is cut off; it may resume with `fromOffset`",
      rows,
      verdicts: [`every paused watch was cut off, the last ${(closedWithinMs / 1000).toFixed(1)} s after its request ` +
        `(stall timeout ${stallTimeoutMs / 1000} s)`],
    });
    await rig?.close();
  });

  it("cuts off every watch whose reader takes nothing, loses no event, and serves everyone else", async () => {
    const held = await runningJob(rig, "abuse-watched");
    await appendBigEvents(held, events, eventBytes);
    const jobId = held.offer.job!.id;
    const request = `GET /v1/jobs/${jobId}/watch HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
      `authorization: Bearer ${rig.tokens.client}\r\n\r\n`;
    const dropped: number[] = [];
    const stopCounting = rig.process.logs.on((line) => {
      if (line.msg === "dropped a watch whose reader took nothing") dropped.push(performance.now());
    });
    const { pressure, acknowledged } = await underAttack(rig, async () => {
      const sockets = await openSockets(rig.port, watchers, { paused: true });
      const sentAt = performance.now();
      for (const socket of sockets) socket.send(request);
      await rig.process.logs.waitFor(() => dropped.length >= watchers, `all ${watchers} paused watches dropped`,
        stallTimeoutMs + bySize(45_000, 120_000));
      closedWithinMs = Math.max(...dropped) - sentAt;
      // Their readers, resuming, find the streams cut short and the connections closed.
      for (const socket of sockets) socket.resume();
      await allClosed(sockets, 30_000, "dropped watches");
    });
    stopCounting();
    const lost = await lostJobs(rig, acknowledged);
    expect(lost).toEqual([]);
    // A reader that keeps up gets the whole log.
    expect((await rig.jobs.getJob({ id: jobId })).job!.nextEventOffset).toBe(BigInt(events));
    await held.launcher.succeed(held.offer);
    const whole = await (await fetch(`${rig.url}/v1/jobs/${jobId}/watch`, {
      headers: { authorization: `Bearer ${rig.tokens.client}` },
    })).text();
    expect(whole.trim().split("\n").filter((line) => line.startsWith('{"event"')).length).toBe(events);
    rows.push({ load: `${watchers} paused watches`, pressure, lost: lost.length, answered: "cut off after the stall timeout" });
  }, attackTimeoutMs);
});
