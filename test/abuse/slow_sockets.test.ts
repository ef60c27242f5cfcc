/**
 * Attack 4: silent, slow-header and slow-body connections, HTTP/1.1 and
 * h2c, and unfinished 4 MiB bodies, all at once, against a coordinator
 * with short deadlines. Defence: --headers-timeout, --request-timeout and
 * --idle-timeout close each within its deadline; --max-connections caps
 * how many are open. The test asserts that every one is closed; how soon
 * after its deadline is a figure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { type AbuseRig, startAbuseRig } from "./abuse_rig.ts";
import { type DetailTable, type LoadRow, recordAttack } from "./abuse_figures.ts";
import { abuseFlags, allClosed } from "./attack_load.ts";
import { attackTimeoutMs, bySize } from "./abuse_size.ts";
import { h2PrefaceOnly, h2SlowBodies, silent, type SlowClient, slowBodies, slowHeaders } from "./slow_clients.ts";
import { lostJobs, underAttack } from "./under_attack.ts";

const perKind = bySize(30, 300);
const unfinishedBodies = bySize(15, 150);
const headersMs = 2_000;
const requestMs = 3_000;
const idleMs = 3_000;
const bodyBytes = 4 * 2 ** 20;
const dripMs = 500;

interface Kind {
  kind: string;
  /** Which deadline closes it, and how long after `startedAt` that is. */
  deadline: string;
  deadlineMs: number;
  open(): Promise<SlowClient[]>;
}

describe("attack 4: slow and silent connections", () => {
  let rig: AbuseRig;
  let launcher: LauncherDriver;
  const rows: LoadRow[] = [];
  const details: DetailTable = {
    caption: "Each kind of connection: its deadline, from its start (connect, or its headers sent), and when it was closed",
    columns: ["Connections", "Count", "Deadline", "Closed by (slowest)", "Open at deadline + 1 s", "Target (deadline + 1 s)"],
    rows: [],
  };
  beforeAll(async () => {
    rig = await startAbuseRig([
      ...abuseFlags,
      "--headers-timeout", `${headersMs}ms`,
      "--request-timeout", `${requestMs}ms`,
      "--idle-timeout", `${idleMs}ms`,
    ]);
    launcher = await LauncherDriver.register(rig, { name: "abuse-uploader" });
  });
  afterAll(async () => {
    recordAttack({
      attack: "4. Slow and silent connections",
      setup: `${(perKind * 5 + unfinishedBodies).toLocaleString("en")} connections at once: ${perKind} of each of five ` +
        `kinds and ${unfinishedBodies} unfinished 4 MiB \`AppendJobEvents\` bodies (a launcher's credential, all but ` +
        `the last byte sent); slow ones send a byte every ${dripMs} ms; coordinator run with \`--headers-timeout ` +
        `${headersMs / 1000}s --request-timeout ${requestMs / 1000}s --idle-timeout ${idleMs / 1000}s\``,
      defence: "`--headers-timeout` (default 20s: a request's whole headers, or HTTP/2's first request), " +
        "`--request-timeout` (default 60s: its body after its headers; HTTP/1.1 gets 408 and is closed, an HTTP/2 " +
        "stream is reset), `--idle-timeout` (default 65s: a connection carrying no request), `--max-connections` " +
        "(default 10000), and `--max-body-memory` (default 128 MiB of request bodies held at once, past which a request " +
        "is refused with `resource_exhausted`)",
      rows,
      details: [details],
      verdicts: [
        "closing times are taken in the test process, which at the same moment writes the unfinished bodies " +
        "(4 MiB each): its own event-loop delays count in them",
      ],
    });
    await rig?.close();
  });

  it("closes every slow or silent connection, and loses nothing", async () => {
    const token = rig.tokens.client;
    const kinds: Kind[] = [
      { kind: "silent (no byte)", deadline: "headers", deadlineMs: headersMs, open: () => silent(rig.port, perKind) },
      { kind: "HTTP/1.1 slow headers", deadline: "headers", deadlineMs: headersMs, open: () => slowHeaders(rig.port, perKind) },
      {
        kind: "HTTP/1.1 slow body",
        deadline: "request",
        deadlineMs: requestMs,
        open: () =>
          slowBodies(rig.port, perKind, {
            path: "/tether.v1.JobService/GetJob",
            token,
            bodyBytes: 100,
            sent: Buffer.from('{"id":'),
            drips: true,
          }),
      },
      { kind: "h2c preface, no request", deadline: "headers", deadlineMs: headersMs, open: () => h2PrefaceOnly(rig.port, perKind) },
      {
        kind: "h2c slow body",
        deadline: "request + idle",
        deadlineMs: requestMs + idleMs,
        open: () => h2SlowBodies(rig.url, perKind, token),
      },
      {
        kind: "unfinished 4 MiB body",
        deadline: "request",
        deadlineMs: requestMs,
        open: () =>
          slowBodies(rig.port, unfinishedBodies, {
            path: "/tether.v1.LauncherService/AppendJobEvents",
            token: launcher.credential,
            bodyBytes,
            sent: Buffer.alloc(bodyBytes - 1, " "),
            drips: false,
          }),
      },
    ];
    const { value: opened, pressure, acknowledged } = await underAttack(rig, async () => {
      const opened = await Promise.all(kinds.map(async (k) => ({ ...k, clients: await k.open() })));
      const all = opened.flatMap((k) => k.clients);
      const dripper = setInterval(() => {
        for (const client of all) client.drip();
      }, dripMs);
      try {
        await allClosed(all, requestMs + idleMs + 60_000, "slow connections");
      } finally {
        clearInterval(dripper);
        for (const client of all) client.close();
      }
      return opened;
    });
    for (const k of opened) {
      const after = k.clients.map((c) => c.closedAt! - c.startedAt);
      const slowest = Math.max(...after);
      const late = after.filter((ms) => ms > k.deadlineMs + 1_000).length;
      details.rows.push([
        k.kind,
        k.clients.length,
        `${k.deadline}: ${(k.deadlineMs / 1000).toFixed(1)} s`,
        `${(slowest / 1000).toFixed(2)} s`,
        late,
        late === 0 ? "met" : `missed: ${late} closed up to ${((slowest - k.deadlineMs - 1_000) / 1000).toFixed(2)} s late`,
      ]);
    }
    expect((await fetch(`${rig.url}/healthz`)).status).toBe(200);
    const lost = await lostJobs(rig, acknowledged);
    expect(lost).toEqual([]);
    const count = opened.reduce((n, k) => n + k.clients.length, 0);
    rows.push({ load: `${count} slow or silent connections`, pressure, lost: lost.length, answered: "all closed" });
  }, attackTimeoutMs);
});
