import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCoordinator } from "../../tools/support/coordinator_process.ts";
import { sleep } from "../support/clock.ts";
import { countingPreload, type QueryCount, queryCount } from "../support/query_count.ts";
import type { Target, TetherTokens } from "./subject_client.ts";

export interface TetherServer {
  url: string;
  pid: number;
  /** What to pass as --db. */
  db: string;
  /** The run's tokens, made on the database before the coordinator started. */
  tokens: TetherTokens;
  /** Where load generators find it. */
  target: Extract<Target, { kind: "tether" }>;
  /** Statements sent to the database so far, from the counting preload. */
  queries(): Promise<QueryCount>;
  stop(): Promise<void>;
}

/**
 * Starts the real coordinator (`coordinator/main.ts`) as its own process on
 * 127.0.0.1:0 with the statement-counting preload, on a SQLite file in a fresh
 * folder or on the given postgres:// URL, and waits for its "listening" line.
 * Authentication is on, as always: the tokens are made first, outside the
 * coordinator, so that making them is neither timed nor counted.
 */
export async function startTetherServer(
  options: { db?: string; flags?: readonly string[]; name?: string; countQueries?: boolean } = {},
): Promise<TetherServer> {
  const dir = options.db ? null : mkdtempSync(join(tmpdir(), "tether-bench-"));
  const db = options.db ?? join(dir!, "tether.db");
  const coordinator = await spawnCoordinator({
    db,
    flags: options.flags,
    name: options.name,
    tokensFor: "bench",
    // TETHER_BENCH_CPU_PROF=DIR writes a V8 CPU profile of each coordinator there when it stops.
    nodeFlags: [
      ...countingPreload.nodeFlags,
      ...(process.env.TETHER_BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.TETHER_BENCH_CPU_PROF] : []),
    ],
    env: { TETHER_BENCH_COUNT_QUERIES: options.countQueries === false ? "0" : "1" },
    listenTimeoutMs: 60_000,
  });
  const { url, tokens } = coordinator;
  return {
    url,
    pid: coordinator.child.pid!,
    db,
    tokens,
    target: { kind: "tether", url, db, tokens: { client: tokens.client, registration: tokens.registration } },
    queries: () => queryCount({ process: coordinator.child, output: coordinator.stderr }),
    async stop() {
      await coordinator.stop(10_000);
      await sleep(10);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
