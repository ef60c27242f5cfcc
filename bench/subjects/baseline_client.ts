import { monoMs } from "../support/clock.ts";
import { postJson } from "../support/post_json.ts";
import type { ConsumeHooks, ConsumeOptions, Payload, SubjectClient, Target } from "./subject_client.ts";

/** The 500 ms re-check baseline (bench/baseline/recheck_coordinator.ts), over its small JSON API. */
export function baselineClient(target: Extract<Target, { kind: "baseline" }>): SubjectClient {
  const stop = new AbortController();
  const loops: Promise<void>[] = [];

  async function poller(options: ConsumeOptions, hooks: ConsumeHooks) {
    while (!stop.signal.aborted) {
      let jobs: { id: number; payload: Payload }[];
      try {
        ({ jobs } = await postJson<{ jobs: { id: number; payload: Payload }[] }>(
          `${target.url}/poll`,
          { max: options.batch, holdMs: 30_000 },
          { signal: stop.signal },
        ));
      } catch (error) {
        if (stop.signal.aborted) return;
        throw error;
      }
      const at = monoMs();
      for (const job of jobs) hooks.received(job.payload, at);
      if (jobs.length === 0) continue;
      await postJson(`${target.url}/finish`, { ids: jobs.map((j) => j.id) });
      for (let i = 0; i < jobs.length; i++) hooks.finished();
    }
  }

  return {
    async enqueue(payload) {
      await postJson(`${target.url}/create`, { payload });
    },
    async seed(count) {
      for (let done = 0; done < count; done += 10_000) {
        await postJson(`${target.url}/seed`, { count: Math.min(10_000, count - done) });
      }
    },
    async consume(options, hooks) {
      for (let i = 0; i < options.pollers; i++) loops.push(poller(options, hooks));
    },
    pending: async () => 0,
    async close() {
      stop.abort();
      await Promise.allSettled(loops);
    },
  };
}
