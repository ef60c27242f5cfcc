/**
 * What the attacks share: the flags every attacked coordinator runs with,
 * a job held running by a launcher driven from the test, and bounded waits
 * for a set of sockets to close.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import { echoJob } from "../../tools/support/jobs.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import type { AbuseRig } from "./abuse_rig.ts";

/**
 * Leases longer than any attack: the test's launchers (and the probe's) do
 * not heartbeat, and a lapse would end the jobs they hold mid-attack.
 */
export const abuseFlags: readonly string[] = ["--lease", "30m", "--heartbeat-interval", "10m"];

/** A job accepted by a launcher of its own (offering `executor` only) and left running, for an attack to aim at. */
export async function runningJob(rig: AbuseRig, executor: string): Promise<{ launcher: LauncherDriver; offer: Offer }> {
  const launcher = await LauncherDriver.register(rig, { name: executor, executors: [executor] });
  await rig.jobs.createJob({ ...echoJob, executor });
  const offer = await launcher.nextOffer();
  await launcher.accept(offer);
  return { launcher, offer };
}

/** Appends `count` events of `bytes` characters each, in batches that fit the 4 MiB body limit. */
export async function appendBigEvents(
  held: { launcher: LauncherDriver; offer: Offer },
  count: number,
  bytes: number,
): Promise<void> {
  const big = "x".repeat(bytes);
  const perBatch = Math.max(1, Math.floor(3_500_000 / bytes));
  for (let from = 0; from < count; from += perBatch) {
    const events: JsonObject[] = [];
    for (let n = from; n < Math.min(count, from + perBatch); n++) events.push({ n, big });
    await held.launcher.append(held.offer, from, events);
  }
}

/** Something that closes once, with the time it closed (performance.now()). */
export interface Closing {
  readonly closedAt: number | null;
  readonly closed: Promise<number>;
}

/**
 * Waits until every one of `sockets` closed; rejects after `timeoutMs` (a
 * guard against a stuck coordinator, not a measure) saying how many are open.
 */
export async function allClosed(sockets: readonly Closing[], timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const open = sockets.filter((s) => s.closedAt === null).length;
      reject(new Error(`${open} of ${sockets.length} ${what} still open after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.all(sockets.map((s) => s.closed)), guard]);
  } finally {
    clearTimeout(timer);
  }
}
