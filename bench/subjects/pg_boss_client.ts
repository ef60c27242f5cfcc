import PgBoss from "pg-boss";
import { monoMs } from "../support/clock.ts";
import type { Payload, SubjectClient, Target } from "./subject_client.ts";

/**
 * pg-boss 10 as its docs show it: `send` to enqueue, `work` to consume. Each
 * consumer is one `work` registration, which polls on its own at
 * `pollingIntervalSeconds`: set to 0.5, the lowest pg-boss allows, for the
 * lowest dispatch latency it can give. Batched means `batchSize` (one fetch
 * takes a batch; the batch completes with one statement).
 */
export function pgBossClient(target: Extract<Target, { kind: "pg-boss" }>): SubjectClient {
  const bosses: PgBoss[] = [];
  const boss = async (max = 10) => {
    const b = new PgBoss({ connectionString: target.url, max, schedule: false, supervise: false });
    b.on("error", (e) => process.stderr.write(`pg-boss: ${String(e)}\n`));
    await b.start();
    await b.createQueue("bench");
    bosses.push(b);
    return b;
  };
  let producer: PgBoss | null = null;
  const getProducer = async () => (producer ??= await boss(4));

  return {
    async enqueue(payload) {
      await (await getProducer()).send("bench", payload);
    },
    async seed(count) {
      const b = await getProducer();
      for (let done = 0; done < count; done += 1000) {
        const n = Math.min(1000, count - done);
        await b.insert(Array.from({ length: n }, () => ({ name: "bench", data: {} })));
      }
    },
    async consume(options, hooks) {
      // A thousand work() loops share a few instances with small pools (the server allows 100 connections).
      const instances = Math.ceil(options.pollers / 250);
      const workers = await Promise.all(Array.from({ length: instances }, () => boss(instances > 1 ? 5 : 10)));
      for (let i = 0; i < options.pollers; i++) {
        await workers[i % instances]!.work<Payload>(
          "bench",
          { batchSize: options.batch, pollingIntervalSeconds: 0.5 },
          async (jobs) => {
            const at = monoMs();
            for (const job of jobs) hooks.received(job.data, at);
            for (let k = 0; k < jobs.length; k++) hooks.finished();
          },
        );
      }
    },
    async pending() {
      const b = await getProducer();
      return await b.getQueueSize("bench", { before: "completed" });
    },
    async close() {
      await Promise.all(bosses.map((b) => b.stop({ graceful: false, wait: true, close: true }).catch(() => {})));
    },
  };
}
