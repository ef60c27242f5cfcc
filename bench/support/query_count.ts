import type { ChildProcess } from "node:child_process";
import type { JsonLines } from "../../tools/support/json_lines.ts";

export interface QueryCount {
  total: number;
  top: [string, number][];
  /** Statements by the time spent in them, [sql, count, ms] (for SQLite, time the event loop was held). */
  slowest: [string, number, number][];
}

/**
 * Asks a process started with the counting preload (bench/support/query_counter.ts)
 * for its statement counts so far: SIGUSR2, answered by a "queries" line in its `output`
 * (a Child, or a coordinator's stderr).
 */
export async function queryCount({ process, output }: { process: ChildProcess; output: JsonLines }): Promise<QueryCount> {
  const before = output.lines.length;
  process.kill("SIGUSR2");
  const m = await output.waitFor(
    (m) => m.type === "queries" && output.lines.indexOf(m) >= before,
    "statement counts",
    10_000,
  );
  return { total: Number(m.total), top: m.top as [string, number][], slowest: m.slowest as [string, number, number][] };
}

/** Node flags and environment that load the counting preload into a child. */
export const countingPreload = {
  nodeFlags: ["--import", "./bench/support/query_counter.ts"],
  env: { TETHER_BENCH_COUNT_QUERIES: "1" },
} as const;
