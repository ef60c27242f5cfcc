import { readFileSync } from "node:fs";
import os from "node:os";

/** What the machine was doing and what it is: recorded with every result. */
export interface MachineSnapshot {
  loadAvg: [number, number, number];
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
}

export function machineSnapshot(): MachineSnapshot {
  const [one, five, fifteen] = os.loadavg() as [number, number, number];
  return {
    loadAvg: [round2(one), round2(five), round2(fifteen)],
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memGiB: round2(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

export function loadAvg1(): number {
  return round2(os.loadavg()[0]!);
}

const ticksPerSecond = 100; // USER_HZ on Linux

/** User plus system CPU time a process has used, in ms (0 when it is gone). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces, start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return (ticks * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, in bytes. */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The fraction of all CPUs busy over `ms` (from /proc/stat). */
export async function cpuBusy(ms = 1_000): Promise<number> {
  const read = () => {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + fields[4]!; // idle + iowait
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

/**
 * Waits until the machine has been quiet (under `threshold` of all CPUs busy)
 * for three seconds in a row, or until `maxWaitMs` passed. Returns the last
 * busy fraction seen, for the record.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.2): Promise<number> {
  const end = Date.now() + maxWaitMs;
  let quietFor = 0;
  let busy = await cpuBusy();
  while (Date.now() < end) {
    quietFor = busy < threshold ? quietFor + 1 : 0;
    if (quietFor >= 3) break;
    busy = await cpuBusy();
  }
  return busy;
}
