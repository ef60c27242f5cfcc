import type { BenchConfig } from "../bench_config.ts";
import { rateValidity, type DispatchResult } from "../report/results.ts";
import { sleep } from "../support/clock.ts";
import { loadAvg1 } from "../support/machine.ts";
import { distribution, quantileCurve } from "../support/stats.ts";
import type { RunningSubject, Subject } from "../subjects/registry.ts";
import { produce, startConsumer, waitUntil } from "./load_processes.ts";

/**
 * Dispatch latency: `pollers` consumers wait; a producer process creates jobs
 * open-loop at each rate; latency is from the producer's send to the moment
 * a consumer's fetch returned the job (both on the machine's monotonic clock).
 */
export async function dispatchLatency(subject: Subject, running: RunningSubject, config: BenchConfig): Promise<DispatchResult[]> {
  const consumer = await startConsumer(running.target, { pollers: config.pollers, batch: 1 });
  const results: DispatchResult[] = [];
  try {
    await sleep(500);
    for (const rate of config.rates) {
      const run = `${subject.id}@${rate}`;
      const produced = await produce(running.target, { run, rate, durationMs: config.rateDurationMs });
      const sent = Number(produced.sent);
      const count = () => consumer.latencies.get(run)?.length ?? 0;
      await waitUntil(() => count() >= sent, config.drainMs);
      const samples = consumer.latencies.get(run) ?? [];
      const windowS = Math.max(config.rateDurationMs, Number(produced.sendMs)) / 1000;
      const achievedRate = sent / windowS;
      const consumedRate = samples.length / windowS;
      const validity = rateValidity(rate, achievedRate, consumedRate, loadAvg1());
      if (Number(produced.failed) > 0) {
        validity.valid = false;
        validity.why = `${produced.failed} creates failed: ${String(produced.firstError).slice(0, 120)}`;
      }
      results.push({
        subject: subject.id, label: subject.label, rate, pollers: config.pollers,
        latency: distribution(samples), curve: quantileCurve(samples), achievedRate, consumedRate, ...validity,
      });
      await sleep(300);
    }
  } finally {
    await consumer.stop();
  }
  return results;
}
