import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { authorization, connectTransport, jobClient } from "../../tools/support/connect_clients.ts";
import { echoJobWith } from "../../tools/support/jobs.ts";
import { monoMs, sleep } from "../support/clock.ts";
import { seedTetherJobs } from "./tether_seed.ts";
import type { ConsumeHooks, ConsumeOptions, Payload, SubjectClient, Target } from "./subject_client.ts";

/**
 * tether over real Connect RPCs (JSON over HTTP/1.1, as the launcher speaks it),
 * authenticated as a real deployment is: CreateJob with a client token; and per
 * launcher RegisterLauncher with the registration token, then PollJobs, AcceptJob
 * and FinishJob for each offer, with a Heartbeat at the interval the coordinator
 * asks, each sending the credential that launcher's registration returned.
 */
export function tetherClient(target: Extract<Target, { kind: "tether" }>): SubjectClient {
  // The producer's token is set by an interceptor; each launcher's credential is a header of its own
  // calls, since one process plays every launcher. Both transports use Node's global agent: one pool.
  const jobs = jobClient(target.url, target.tokens.client);
  const launchers = createClient(LauncherService, connectTransport(target.url));
  const registration = authorization(target.tokens.registration);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const loops: Promise<void>[] = [];

  async function runLauncher(index: number, options: ConsumeOptions, hooks: ConsumeHooks, registered: () => void) {
    const { credential, heartbeatInterval, pollHold } = await launchers.registerLauncher({
      name: `bench-${index}-${randomUUID().slice(0, 8)}`,
      hostname: "bench-host",
      executors: ["echo"],
      maxConcurrency: options.batch,
      version: "bench",
      instanceId: randomUUID(),
    }, { headers: registration });
    const headers = authorization(credential);
    const holdMs = Number(pollHold!.seconds) * 1000 + pollHold!.nanos / 1e6;
    const beatMs = Number(heartbeatInterval!.seconds) * 1000 + heartbeatInterval!.nanos / 1e6;
    const running = new Map<string, string>();
    registered();
    // Heartbeats start at a random point of the interval, as launchers started at different times would.
    void (async () => {
      await sleep(Math.random() * beatMs);
      while (!stop.signal.aborted) {
        const runningJobs = [...running].map(([jobId, fencingToken]) => ({ jobId, fencingToken }));
        await launchers.heartbeat({ runningJobs }, { headers, signal: stop.signal }).catch(() => {});
        await sleep(beatMs);
      }
    })();
    // The first poll's deadline is spread over one hold, so that later polls end at spread-out times too.
    let timeoutMs = Math.round(5_000 + Math.random() * holdMs);
    while (!stop.signal.aborted) {
      let offers: Offer[];
      try {
        ({ offers } = await launchers.pollJobs(
          { pollId: randomUUID(), freeSlots: options.batch },
          { headers, signal: stop.signal, timeoutMs },
        ));
      } catch (error) {
        if (stop.signal.aborted) return;
        // A coordinator too busy to answer within the deadline: poll again, as the launcher does.
        if (error instanceof ConnectError && error.code === Code.DeadlineExceeded) continue;
        throw error;
      }
      timeoutMs = Math.round(holdMs + 5_000);
      const at = monoMs();
      for (const offer of offers) hooks.received(offer.job!.parameters as Payload, at);
      await Promise.all(offers.map(async (offer) => {
        const jobId = offer.job!.id;
        running.set(jobId, offer.fencingToken);
        await launchers.acceptJob({ jobId, fencingToken: offer.fencingToken }, { headers });
        await launchers.finishJob(
          { jobId, fencingToken: offer.fencingToken, state: JobState.SUCCEEDED, exitCode: 0 },
          { headers },
        );
        running.delete(jobId);
        hooks.finished();
      }));
    }
  }

  return {
    async enqueue(payload) {
      await jobs.createJob(echoJobWith(payload as JsonObject));
    },
    seed: (count) => seedTetherJobs(target.db, count),
    async consume(options, hooks) {
      let registered = 0;
      let allRegistered!: () => void;
      const ready = new Promise<void>((resolve) => (allRegistered = resolve));
      // Register in groups, so that a thousand launchers do not open a thousand connections at once.
      for (let i = 0; i < options.pollers; i++) {
        loops.push(runLauncher(i, options, hooks, () => {
          if (++registered === options.pollers) allRegistered();
        }));
        if (i % 50 === 49) await sleep(20);
      }
      await Promise.race([ready, ...loops]);
    },
    pending: async () => 0,
    async close() {
      stop.abort();
      await Promise.allSettled(loops);
    },
  };
}
