import { Queue, Worker } from "bullmq";
import { monoMs } from "../support/clock.ts";
import type { Payload, SubjectClient, Target } from "./subject_client.ts";

/**
 * BullMQ 6 on Redis as its docs show it: `Queue.add` to enqueue, `Worker`
 * to consume (each Worker waits on its own blocking connection). Completed
 * jobs are removed, as graphile-worker does and as a queue that is not an
 * archive is usually run. Open-source BullMQ has no batch fetch: batched
 * means each Worker runs `batch` jobs at once.
 */
export function bullmqClient(target: Extract<Target, { kind: "bullmq" }>): SubjectClient {
  const connection = { host: target.host, port: target.port, maxRetriesPerRequest: null };
  let queue: Queue | null = null;
  const getQueue = () => (queue ??= new Queue("bench", { connection }));
  const workers: Worker[] = [];
  const jobOptions = { removeOnComplete: true, removeOnFail: true };

  return {
    async enqueue(payload) {
      await getQueue().add("bench", payload, jobOptions);
    },
    async seed(count) {
      for (let done = 0; done < count; done += 1000) {
        const n = Math.min(1000, count - done);
        await getQueue().addBulk(Array.from({ length: n }, () => ({ name: "bench", data: {}, opts: jobOptions })));
      }
    },
    async consume(options, hooks) {
      for (let i = 0; i < options.pollers; i++) {
        const worker = new Worker<Payload>("bench", async (job) => {
          hooks.received(job.data, monoMs());
        }, { connection, concurrency: options.batch });
        worker.on("completed", () => hooks.finished());
        worker.on("error", (e) => process.stderr.write(`bullmq: ${String(e)}\n`));
        workers.push(worker);
      }
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    },
    async pending() {
      const counts = await getQueue().getJobCounts("wait", "active", "delayed", "prioritized");
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await Promise.all(workers.map((w) => w.close(true)));
      await queue?.close();
    },
  };
}
