import type { BenchConfig } from "../bench_config.ts";
import type { ThroughputResult } from "../report/results.ts";
import { monoMs } from "../support/clock.ts";
import { loadAvg1 } from "../support/machine.ts";
import type { RunningSubject, Subject } from "../subjects/registry.ts";
import { seed, startConsumer } from "./load_processes.ts";

/**
 * End-to-end throughput: jobs are pre-created, then several consumers burn
 * them down (fetch, and for tether accept and finish, each a real RPC), one
 * job per fetch and then in batches. Timed from the first job received to
 * the moment the store holds none unfinished; a run past the cap is rated on
 * the jobs finished by then, and its leftovers join the next run.
 */
export async function throughput(subject: Subject, running: RunningSubject, config: BenchConfig): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];
  let leftover = 0;
  for (const batch of [1, config.burnDownBatch]) {
    // Jobs a capped run left behind count toward this run's total.
    const toSeed = Math.max(0, config.burnDownJobs - leftover);
    if (toSeed > 0) await seed(running.target, toSeed);
    const expect = toSeed + leftover;
    const consumer = await startConsumer(running.target, { pollers: config.burnDownConsumers, batch, expect });
    try {
      const drained = await Promise.race([
        consumer.child.waitFor((m) => m.type === "drained", "all jobs done", config.burnDownCapMs + 600_000),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), config.burnDownCapMs)),
      ]);
      const end = drained ? Number(drained.at) : monoMs();
      const jobs = drained ? expect : consumer.finished;
      const seconds = (end - (consumer.firstAt ?? end)) / 1000;
      leftover = expect - jobs;
      results.push({
        subject: subject.id, label: subject.label, mode: batch === 1 ? "one per poll" : "batched",
        consumers: config.burnDownConsumers, batch, jobs, seconds, jobsPerSecond: seconds > 0 ? jobs / seconds : 0,
        valid: jobs > 0, why: drained ? "" : `stopped at the ${config.burnDownCapMs / 1000} s cap`, load1: loadAvg1(),
      });
    } finally {
      await consumer.stop();
    }
  }
  return results;
}
