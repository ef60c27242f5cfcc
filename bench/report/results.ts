import type { MachineSnapshot } from "../support/machine.ts";
import type { Distribution } from "../support/stats.ts";

/** A result is INVALID when the load asked for was not delivered (or not all of it consumed). */
export interface Validity {
  valid: boolean;
  why: string;
  /** The 1-minute load average when the measurement ended. */
  load1: number;
}

export interface DispatchResult extends Validity {
  subject: string;
  label: string;
  rate: number;
  pollers: number;
  latency: Distribution;
  /** [quantile, ms] points for the CDF chart. */
  curve: [number, number][];
  achievedRate: number;
  consumedRate: number;
}

export interface ThroughputResult extends Validity {
  subject: string;
  label: string;
  mode: "one per poll" | "batched";
  consumers: number;
  batch: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
}

export interface IdlePollsResult extends Validity {
  subject: string;
  polls: number;
  addresses: number;
  rssBeforeMiB: number;
  rssHeldMiB: number;
  /** Held polls per GiB of the memory they added. */
  pollsPerGiB: number;
  /** Held polls per GiB of the coordinator's whole resident memory. */
  pollsPerGiBTotal: number;
  answerAllMs: number;
}

export interface IdleCostResult extends Validity {
  subject: string;
  label: string;
  consumers: number;
  windowSeconds: number;
  queriesPerSecond: number;
  transactionsPerSecond: number | null;
  serverCpuPercent: number;
  clientCpuPercent: number;
  /** The most frequent statements during the window, per second (counted in-process only). */
  top: [string, number][];
}

export interface ClaimResult {
  backend: string;
  queued: number;
  claims: number;
  asConfigured: Distribution;
  withoutFsync: Distribution;
}

export interface WriteResult {
  transactions: number;
  asConfigured: Distribution;
  withoutFsync: Distribution;
}

export interface BenchResults {
  mode: "quick" | "full";
  startedAt: string;
  seconds: number;
  command: string;
  machineAtStart: MachineSnapshot;
  machineAtEnd: MachineSnapshot;
  dispatch: DispatchResult[];
  throughput: ThroughputResult[];
  idlePolls: IdlePollsResult[];
  idleCost: IdleCostResult[];
  claim: ClaimResult[];
  writes: WriteResult[];
  /** Suites that failed, with why; the others ran. */
  failures: string[];
}

/** Valid when the achieved rate is at least 95% of the offered one. */
export function rateValidity(offered: number, achieved: number, consumed: number, load1: number): Validity {
  if (achieved < offered * 0.95) {
    return { valid: false, why: `achieved ${achieved.toFixed(0)}/s of ${offered}/s offered`, load1 };
  }
  if (consumed < achieved * 0.95) {
    return { valid: false, why: `consumed ${consumed.toFixed(0)}/s of ${achieved.toFixed(0)}/s sent`, load1 };
  }
  return { valid: true, why: "", load1 };
}
