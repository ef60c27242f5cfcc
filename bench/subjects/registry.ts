import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger, runMigrations } from "graphile-worker";
import PgBoss from "pg-boss";
import { type Child, startNode } from "../support/child.ts";
import { backendPids, type BenchDatabase, createDatabase, transactionCount } from "../support/postgres.ts";
import { queryCount, countingPreload } from "../support/query_count.ts";
import { startRedis } from "../support/redis_server.ts";
import type { Target } from "./subject_client.ts";
import { startTetherServer } from "./tether_server.ts";

/** One system under test, started and ready for load generators. */
export interface RunningSubject {
  target: Target;
  /** Server-side processes whose CPU counts for the system (coordinator, database backends, redis-server). */
  serverPids(): Promise<number[]>;
  /**
   * Statements sent to the store so far: counted in the coordinator for tether
   * and the baseline, in the consumer process for the PostgreSQL libraries
   * (which query from there), by Redis itself for BullMQ.
   */
  queries(consumer: Child | null): Promise<number>;
  /** Transactions the PostgreSQL database has seen (pg_stat_database), or null. */
  transactions(): Promise<number | null>;
  /** The statements sent most often so far, when counted in-process (for finding causes). */
  topQueries(consumer: Child | null): Promise<[string, number][]>;
  stop(): Promise<void>;
}

export interface Subject {
  id: string;
  label: string;
  store: "SQLite" | "PostgreSQL" | "Redis";
  start(): Promise<RunningSubject>;
}

const silent = new Logger(() => () => {});

function tether(id: string, store: "SQLite" | "PostgreSQL"): Subject {
  return {
    id,
    label: `tether (${store})`,
    store,
    async start() {
      const database = store === "PostgreSQL" ? await createDatabase("tether") : null;
      const server = await startTetherServer({ db: database?.url, name: id });
      return {
        target: server.target,
        serverPids: async () => [server.pid, ...(database ? await backendPids(database.name) : [])],
        queries: async () => (await server.queries()).total,
        topQueries: async () => (await server.queries()).top,
        transactions: async () => (database ? await transactionCount(database.name) : null),
        async stop() {
          await server.stop();
          await database?.drop();
        },
      };
    },
  };
}

/** A PostgreSQL library: its queries come from the consumer process, where the counting preload runs. */
function pgLibrary(id: string, label: string, kind: "graphile-worker" | "pg-boss", prepare: (url: string) => Promise<void>): Subject {
  return {
    id,
    label,
    store: "PostgreSQL",
    async start() {
      const database: BenchDatabase = await createDatabase(id.replace(/-/g, "_"));
      await prepare(database.url);
      const counted = async (consumer: Child | null) => (consumer ? await queryCount(consumer) : { total: 0, top: [] });
      return {
        target: { kind, url: database.url },
        serverPids: () => backendPids(database.name),
        queries: async (consumer) => (await counted(consumer)).total,
        topQueries: async (consumer) => (await counted(consumer)).top,
        transactions: () => transactionCount(database.name),
        stop: () => database.drop(),
      };
    },
  };
}

/** bench/baseline/recheck_coordinator.ts on a fresh SQLite file: the baseline, or with --handoff the floor. */
function recheckScript(id: string, label: string, flags: string[]): Subject {
  return {
    id,
    label,
    store: "SQLite",
    async start() {
      const dir = mkdtempSync(join(tmpdir(), `tether-bench-${id}-`));
      const child = startNode(id, "bench/baseline/recheck_coordinator.ts", ["--db", join(dir, `${id}.db`), ...flags], countingPreload);
      const listening = await child.waitFor((m) => m.msg === "listening", 'the "listening" line');
      return {
        target: { kind: "baseline", url: String(listening.url) },
        serverPids: async () => [child.pid],
        queries: async () => (await queryCount(child)).total,
        topQueries: async () => (await queryCount(child)).top,
        transactions: async () => null,
        async stop() {
          await child.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

export const subjects: readonly Subject[] = [
  tether("tether-sqlite", "SQLite"),
  tether("tether-pg", "PostgreSQL"),
  pgLibrary("graphile-worker", "graphile-worker 0.17.3", "graphile-worker", async (url) => {
    await runMigrations({ connectionString: url, logger: silent });
  }),
  pgLibrary("pg-boss", "pg-boss 10.4.2", "pg-boss", async (url) => {
    const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false });
    await boss.start();
    await boss.createQueue("bench");
    await boss.stop({ graceful: false, wait: true });
  }),
  {
    id: "bullmq",
    label: "BullMQ 6.7.0 (Redis 7)",
    store: "Redis",
    async start() {
      const redis = await startRedis();
      return {
        target: { kind: "bullmq", host: "127.0.0.1", port: redis.port },
        serverPids: async () => [redis.pid],
        queries: () => redis.commandCount(),
        topQueries: async () => [],
        transactions: async () => null,
        stop: () => redis.stop(),
      };
    },
  },
  recheckScript("baseline", "baseline: 500 ms re-check (SQLite)", []),
  recheckScript("floor", "floor: raw HTTP + direct handoff (SQLite)", ["--handoff", "1"]),
];
