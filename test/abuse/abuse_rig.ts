/**
 * The coordinator under attack: the real `coordinator/main.ts` as a process
 * of its own, on a SQLite file in a fresh folder, with the event-loop
 * monitor preloaded (loop_monitor.ts), and clients of each role.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientsFor, type RoleClients } from "../../tools/support/connect_clients.ts";
import { spawnCoordinator, type SpawnedCoordinator } from "../../tools/support/coordinator_process.ts";
import type { LoopWindow } from "./loop_monitor.ts";

export interface AbuseRig extends RoleClients {
  readonly url: string;
  readonly port: number;
  /** The SQLite file. */
  readonly db: string;
  readonly process: SpawnedCoordinator;
  /** The coordinator's resident memory now and at its peak so far, from /proc. */
  memory(): { rssBytes: number; peakBytes: number };
  /** Ends the monitor's current window of event-loop delays and starts the next. */
  loopWindow(): Promise<LoopWindow>;
  /** Stops the coordinator and deletes its folder. */
  close(): Promise<void>;
}

/** Starts a coordinator with `flags` (on top of its defaults) for an attack. */
export async function startAbuseRig(flags: readonly string[] = []): Promise<AbuseRig> {
  const dir = mkdtempSync(join(tmpdir(), "tether-abuse-"));
  const db = join(dir, "tether.db");
  let started: SpawnedCoordinator;
  try {
    started = await spawnCoordinator({
      db,
      flags,
      nodeFlags: [
        "--import",
        join(import.meta.dirname, "loop_monitor.ts"),
        // TETHER_ABUSE_PROFILE=<dir>: a CPU profile of the coordinator, written there when it stops.
        ...(process.env.TETHER_ABUSE_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.TETHER_ABUSE_PROFILE}`] : []),
      ],
      tokensFor: "abuse",
      name: "coordinator under attack",
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const pid = started.child.pid!;
  let windows = 0;
  return {
    url: started.url,
    port: started.port,
    db,
    process: started,
    ...clientsFor(started.url, started.tokens),
    memory: () => memoryOf(pid),
    async loopWindow() {
      const n = windows++;
      started.child.kill("SIGUSR2");
      const line = await started.stderr.waitFor((l) => l.loopWindow === n, `event-loop window ${n}`, 60_000);
      return line as unknown as LoopWindow;
    },
    async close() {
      await started.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rssBytes: number; peakBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kib("VmRSS"), peakBytes: kib("VmHWM") };
}
