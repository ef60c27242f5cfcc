import type { BenchConfig } from "../bench_config.ts";
import type { IdleCostResult } from "../report/results.ts";
import { sleep } from "../support/clock.ts";
import { loadAvg1, processCpuMs } from "../support/machine.ts";
import type { RunningSubject, Subject } from "../subjects/registry.ts";
import { startConsumer } from "./load_processes.ts";

/**
 * Idle cost: many consumers wait on an empty queue (tether launchers also
 * heartbeat, at the coordinator's default 5 s); over a window, the statements
 * sent to the store per second and the CPU of the server side (coordinator,
 * database backends, redis-server) and of the consumer process.
 */
export async function idleCost(subject: Subject, running: RunningSubject, config: BenchConfig): Promise<IdleCostResult> {
  const consumer = await startConsumer(running.target, { pollers: config.idleLaunchers, batch: 1 });
  try {
    await sleep(config.idleWarmupMs);
    const pids = await running.serverPids();
    const cpu = () => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
    const top0 = new Map(await running.topQueries(consumer.child));
    const [q0, x0, s0, c0, t0] = [
      await running.queries(consumer.child), await running.transactions(), cpu(), processCpuMs(consumer.child.pid), Date.now(),
    ];
    await sleep(config.idleWindowMs);
    const [q1, x1, s1, c1, t1] = [
      await running.queries(consumer.child), await running.transactions(), cpu(), processCpuMs(consumer.child.pid), Date.now(),
    ];
    const seconds = (t1 - t0) / 1000;
    return {
      subject: subject.id, label: subject.label, consumers: config.idleLaunchers, windowSeconds: seconds,
      queriesPerSecond: (q1 - q0) / seconds,
      transactionsPerSecond: x0 === null || x1 === null ? null : (x1 - x0) / seconds,
      serverCpuPercent: ((s1 - s0) / (t1 - t0)) * 100,
      clientCpuPercent: ((c1 - c0) / (t1 - t0)) * 100,
      // The statements sent during the window, most frequent first, per second.
      top: (await running.topQueries(consumer.child))
        .map(([sql, n]): [string, number] => [sql, (n - (top0.get(sql) ?? 0)) / seconds])
        .filter(([, rate]) => rate > 0).sort((a, b) => b[1] - a[1]).slice(0, 8),
      valid: true, why: "", load1: loadAvg1(),
    };
  } finally {
    await consumer.stop();
  }
}
