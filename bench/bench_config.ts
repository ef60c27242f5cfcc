/** How much of everything a run does: `quick` (npm run bench) or `full` (npm run bench:full). */
export interface BenchConfig {
  readonly mode: "quick" | "full";
  /** Offered creation rates for dispatch latency, jobs/s. */
  readonly rates: readonly number[];
  /** How long each rate is offered. */
  readonly rateDurationMs: number;
  /** How long to wait after the last create for every job to reach a consumer. */
  readonly drainMs: number;
  /** Idle consumers waiting while jobs arrive (the issue asks for 50+). */
  readonly pollers: number;
  /** Jobs burnt down per throughput run. */
  readonly burnDownJobs: number;
  readonly burnDownConsumers: number;
  readonly burnDownBatch: number;
  /** A burn-down still running after this long is stopped and rated on the jobs done so far. */
  readonly burnDownCapMs: number;
  /** Held polls for the memory measurement. */
  readonly idlePolls: number;
  readonly idleLaunchers: number;
  readonly idleWarmupMs: number;
  readonly idleWindowMs: number;
  readonly claimQueued: number;
  readonly claims: number;
  readonly writeTransactions: number;
}

export const configs: Readonly<Record<"quick" | "full", BenchConfig>> = {
  quick: Object.freeze({
    mode: "quick",
    rates: [20, 200, 1000],
    rateDurationMs: 1_000,
    drainMs: 1_500,
    pollers: 50,
    burnDownJobs: 300,
    burnDownConsumers: 8,
    burnDownBatch: 16,
    burnDownCapMs: 2_000,
    idlePolls: 500,
    idleLaunchers: 200,
    idleWarmupMs: 1_000,
    idleWindowMs: 3_000,
    claimQueued: 1_000,
    claims: 200,
    writeTransactions: 500,
  }),
  full: Object.freeze({
    mode: "full",
    rates: [20, 200, 1000, 2000],
    rateDurationMs: 6_000,
    drainMs: 10_000,
    pollers: 50,
    burnDownJobs: 100_000,
    burnDownConsumers: 8,
    burnDownBatch: 16,
    burnDownCapMs: 45_000,
    idlePolls: 15_000,
    idleLaunchers: 1_000,
    idleWarmupMs: 5_000,
    idleWindowMs: 20_000,
    claimQueued: 100_000,
    claims: 5_000,
    writeTransactions: 20_000,
  }),
};
