import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchConfig } from "../bench_config.ts";
import type { ClaimResult } from "../report/results.ts";
import { startNode } from "../support/child.ts";
import { createDatabase } from "../support/postgres.ts";
import type { Distribution } from "../support/stats.ts";
import type { Subject } from "../subjects/registry.ts";

/** Claim statement latency with a deep queue, in its own process (bench/load/claim_probe.ts). */
export async function claimQuery(subject: Subject, config: BenchConfig): Promise<ClaimResult> {
  const database = subject.store === "PostgreSQL" ? await createDatabase("tether_claim") : null;
  const dir = database ? null : mkdtempSync(join(tmpdir(), "tether-bench-claim-"));
  const db = database?.url ?? join(dir!, "tether.db");
  try {
    const probe = startNode("claim-probe", "bench/load/claim_probe.ts", [
      "--db", db, "--queued", String(config.claimQueued), "--claims", String(config.claims),
    ]);
    const m = await probe.waitFor((m) => m.type === "claims", "claim timings", 1_800_000);
    return {
      backend: subject.label, queued: config.claimQueued, claims: config.claims,
      asConfigured: m.asConfigured as Distribution, withoutFsync: m.withoutFsync as Distribution,
    };
  } finally {
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
