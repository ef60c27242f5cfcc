import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { issueToken } from "../../coordinator/auth/issue_token.ts";
import { openDatabase } from "../../coordinator/storage/db/open_database.ts";
import { type Child, startNode } from "../support/child.ts";
import { sleep } from "../support/clock.ts";
import type { Target, TetherTokens } from "./subject_client.ts";

export interface QueryCount {
  total: number;
  top: [string, number][];
  /** SQLite only: statements by the time spent in them, [sql, count, ms]. */
  slowest: [string, number, number][];
}

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
  const tokens = await issueBenchTokens(db);
  const child: Child = startNode(
    options.name ?? "coordinator",
    "coordinator/main.ts",
    ["--listen", "127.0.0.1:0", "--db", db, ...(options.flags ?? [])],
    {
      // TETHER_BENCH_CPU_PROF=DIR writes a V8 CPU profile of each coordinator there when it stops.
      nodeFlags: [
        "--import", "./bench/support/query_counter.ts",
        ...(process.env.TETHER_BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.TETHER_BENCH_CPU_PROF] : []),
      ],
      env: { TETHER_BENCH_COUNT_QUERIES: options.countQueries === false ? "0" : "1" },
    },
  );
  const listening = await child.waitFor((m) => m.msg === "listening", 'the "listening" line', 60_000);
  const url = String(listening.url);
  return {
    url,
    pid: child.pid,
    db,
    tokens,
    target: { kind: "tether", url, db, tokens },
    async queries() {
      const before = child.messages.length;
      child.process.kill("SIGUSR2");
      const m = await child.waitFor((m) => m.type === "queries" && child.messages.indexOf(m) >= before, "query counts", 10_000);
      return { total: Number(m.total), top: m.top as [string, number][], slowest: m.slowest as [string, number, number][] };
    },
    async stop() {
      await child.stop();
      await sleep(10);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client token and a launcher registration token on the database at `db`, as `tokens create` makes them. */
async function issueBenchTokens(db: string): Promise<TetherTokens> {
  const kysely = await openDatabase(db);
  try {
    // Names are unique among live tokens; a database given twice gets a second pair.
    const suffix = randomBytes(4).toString("hex");
    const make = async (role: TokenRole, name: string) =>
      (await issueToken(kysely, { name: `${name}-${suffix}`, role, ttlMs: null }, Date.now())).secret;
    return {
      client: await make(TokenRole.CLIENT, "bench-client"),
      registration: await make(TokenRole.LAUNCHER_REGISTRATION, "bench-registration"),
    };
  } finally {
    await kysely.destroy();
  }
}
