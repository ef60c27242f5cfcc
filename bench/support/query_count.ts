import type { Child } from "./child.ts";

/** Asks a process started with the counting preload for its statement count so far (SIGUSR2). */
export async function queryCount(child: Child): Promise<{ total: number; top: [string, number][] }> {
  const before = child.messages.length;
  child.process.kill("SIGUSR2");
  const m = await child.waitFor(
    (m) => m.type === "queries" && child.messages.indexOf(m) >= before,
    "statement counts",
    10_000,
  );
  return { total: Number(m.total), top: m.top as [string, number][] };
}

/** Node flags and environment that load the counting preload into a child. */
export const countingPreload = {
  nodeFlags: ["--import", "./bench/support/query_counter.ts"],
  env: { TETHER_BENCH_COUNT_QUERIES: "1" },
} as const;
