import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from "graphile-worker";
import { monoMs } from "../support/clock.ts";
import type { ConsumeOptions, Payload, SubjectClient, Target } from "./subject_client.ts";

const silent = new Logger(() => () => {});

/**
 * graphile-worker 0.17 as its docs show it: `addJob` to enqueue (the insert
 * NOTIFYs waiting pools), `run` with a task list to work. Consumers map onto
 * runner pools of at most 50 concurrent jobs each (one pool per process is
 * the usual deployment; 1,000 idle consumers become 20 pools of 50, with 3
 * connections each to stay within the server's 100). Batched means its own
 * batching: a local queue fetching a batch per query, and completions
 * batched (completeJobBatchDelay 0).
 */
export function graphileWorkerClient(target: Extract<Target, { kind: "graphile-worker" }>): SubjectClient {
  let utils: WorkerUtils | null = null;
  const runners: Runner[] = [];
  const getUtils = async () => (utils ??= await makeWorkerUtils({ connectionString: target.url, logger: silent, maxPoolSize: 4 }));

  return {
    async enqueue(payload) {
      await (await getUtils()).addJob("bench", payload);
    },
    async seed(count) {
      const u = await getUtils();
      for (let done = 0; done < count; done += 1000) {
        const n = Math.min(1000, count - done);
        await u.addJobs(Array.from({ length: n }, () => ({ identifier: "bench", payload: {} })));
      }
    },
    async consume(options: ConsumeOptions, hooks) {
      const pools = Math.ceil(options.pollers / 50);
      const concurrency = Math.ceil((options.pollers * options.batch) / pools);
      for (let i = 0; i < pools; i++) {
        runners.push(await run({
          connectionString: target.url,
          concurrency,
          maxPoolSize: pools > 1 ? 3 : Math.max(10, Math.min(concurrency + 2, 20)),
          noHandleSignals: true,
          logger: silent,
          taskList: {
            bench: async (payload) => {
              hooks.received(payload as Payload, monoMs());
              hooks.finished();
            },
          },
          preset: options.batch > 1
            ? { worker: { localQueue: { size: concurrency }, completeJobBatchDelay: 0 } }
            : {},
        }));
      }
    },
    async pending() {
      return await (await getUtils()).withPgClient(async (c) =>
        Number((await c.query("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0].n)
      );
    },
    async close() {
      await Promise.all(runners.map((r) => r.stop()));
      await utils?.release();
    },
  };
}
