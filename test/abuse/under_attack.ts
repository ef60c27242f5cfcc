/**
 * What an attack does to everyone else, measured while it runs: the
 * coordinator's peak memory and longest event-loop stall, and what the
 * probes of probe_process.ts saw (health-probe latency, a normal job's
 * dispatch latency). The times are figures only, never asserted; peak
 * memory, which is no time, is held to its target in the long mode.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { distribution } from "../../bench/support/stats.ts";
import { JsonLines } from "../../tools/support/json_lines.ts";
import { spawnTsx } from "../../tools/support/tsx_process.ts";
import { expect } from "vitest";
import type { AbuseRig } from "./abuse_rig.ts";
import { targets } from "./abuse_report.ts";
import { abuseMode } from "./abuse_size.ts";
import type { ProbeLine } from "./probe_process.ts";

/** The figures of one attack window, in milliseconds and MiB. */
export interface Pressure {
  wallMs: number;
  peakRssMiB: number;
  /** Beyond the monitor's 10 ms sampling period. */
  maxStallMs: number;
  p99StallMs: number;
  health: { n: number; failed: number; p50Ms: number; p99Ms: number; maxMs: number };
  dispatch: { n: number; failed: number; p50Ms: number; p99Ms: number; maxMs: number };
}

/** A job the probe saw CreateJob acknowledge, and when. */
export interface Acknowledged {
  job: string;
  at: number;
}

const monitorResolutionMs = 10;
const rssSampleMs = 100;

/**
 * Runs `attack` with the probes running and the coordinator watched, and
 * returns its value, the figures, and the jobs the probe created (for the
 * check that none of them was lost).
 */
export async function underAttack<T>(
  rig: AbuseRig,
  attack: () => Promise<T>,
): Promise<{ value: T; pressure: Pressure; acknowledged: Acknowledged[] }> {
  const probe = spawnTsx("test/abuse/probe_process.ts", [rig.url, rig.tokens.client, rig.tokens.registration]);
  const exited = new Promise<void>((resolve) => probe.once("exit", () => resolve()));
  const lines = new JsonLines(probe.stdout!, "abuse probe");
  let peakRss = 0;
  const sampler = setInterval(() => peakRss = Math.max(peakRss, rig.memory().rssBytes), rssSampleMs);
  try {
    await lines.waitFor((l) => l.probe === "ready", "the probe's launcher registered");
    await rig.loopWindow();
    const firstLine = lines.lines.length;
    peakRss = rig.memory().rssBytes;
    const started = performance.now();
    const value = await attack();
    const wallMs = performance.now() - started;
    const loop = await rig.loopWindow();
    peakRss = Math.max(peakRss, rig.memory().rssBytes);
    const seen = lines.lines.slice(firstLine) as ProbeLine[];
    if (abuseMode === "long") {
      expect(peakRss / 2 ** 20, `the coordinator's peak RSS, MiB (target ${targets.rssMiB})`).toBeLessThanOrEqual(targets.rssMiB);
    }
    return {
      value,
      acknowledged: (lines.lines as ProbeLine[]).flatMap((l) => l.probe === "created" ? [{ job: l.job, at: l.at }] : []),
      pressure: {
        wallMs,
        peakRssMiB: peakRss / 2 ** 20,
        maxStallMs: Math.max(0, loop.maxMs - monitorResolutionMs),
        p99StallMs: Math.max(0, loop.p99Ms - monitorResolutionMs),
        health: latencies(seen, "health"),
        dispatch: latencies(seen, "dispatch"),
      },
    };
  } finally {
    clearInterval(sampler);
    probe.kill("SIGTERM");
    await exited;
  }
}

function latencies(lines: readonly ProbeLine[], probe: "health" | "dispatch"): Pressure["health"] {
  const ms = lines.flatMap((l) => l.probe === probe && (l.probe !== "health" || l.status === 200) ? [l.ms] : []);
  const failed = lines.filter((l) =>
    (l.probe === "error" && l.what === probe) || (probe === "health" && l.probe === "health" && l.status !== 200)
  ).length;
  const d = distribution(ms);
  return { n: d.n, failed, p50Ms: d.p50, p99Ms: d.p99, maxMs: d.max };
}

/** The acknowledged jobs GetJob no longer finds. */
export async function lostJobs(rig: AbuseRig, acknowledged: readonly Acknowledged[]): Promise<string[]> {
  const lost: string[] = [];
  for (const { job } of acknowledged) {
    const found = await rig.jobs.getJob({ id: job }).then(() => true, (e) => {
      if (ConnectError.from(e).code === Code.NotFound) return false;
      throw e;
    });
    if (!found) lost.push(job);
  }
  return lost;
}
