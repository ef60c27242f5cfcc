import type { BenchConfig } from "../bench_config.ts";
import type { WriteResult } from "../report/results.ts";
import { startNode } from "../support/child.ts";
import type { Distribution } from "../support/stats.ts";

/** SQLite single write transactions, in their own process (bench/load/write_probe.ts). */
export async function writeStalls(config: BenchConfig): Promise<WriteResult> {
  const probe = startNode("write-probe", "bench/load/write_probe.ts", ["--count", String(config.writeTransactions)]);
  const m = await probe.waitFor((m) => m.type === "writes", "write timings", 1_800_000);
  return {
    transactions: config.writeTransactions,
    asConfigured: m.asConfigured as Distribution,
    withoutFsync: m.withoutFsync as Distribution,
  };
}
