// How much of the dispatch latency is the client's: the same coordinator, the same open-loop
// load, once with launchers and producer speaking Connect JSON over plain node:http (as curl,
// the floor's and the baseline's clients do) and once through @connectrpc/connect-node's client
// (as the dispatch suite's tether launchers do). Producer and 50 launchers share this process;
// the coordinator is its own, started as in the suites. Both stacks authenticate as the suites do:
// the producer with a client token, each launcher with the credential its registration returned.
//
//   node --import tsx bench/dispatch_clients.ts [jobs/s, default 200] [seconds, default 6]
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { JobState } from "../gen/tether/v1/job_pb.ts";
import { LauncherService } from "../gen/tether/v1/launcher_service_pb.ts";
import { authorization, connectTransport, jobClient } from "../tools/support/connect_clients.ts";
import { echoJobWith } from "../tools/support/jobs.ts";
import type { TetherTokens } from "./subjects/subject_client.ts";
import { monoMs, sleep } from "./support/clock.ts";
import { postJson } from "./support/post_json.ts";
import { distribution } from "./support/stats.ts";
import { startTetherServer } from "./subjects/tether_server.ts";

const rate = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 6);
const pollers = 50;

interface Offer {
  jobId: string;
  token: string;
  n: number;
}

/** A launcher's headers: its credential as a bearer token, built once at registration. */
type Launcher = Record<string, string>;

/** The four calls a dispatch needs, through one client stack. */
interface Calls {
  register(name: string): Promise<Launcher>;
  poll(launcher: Launcher): Promise<Offer[]>;
  accept(launcher: Launcher, o: Offer): Promise<unknown>;
  finish(launcher: Launcher, o: Offer): Promise<unknown>;
  create(n: number): Promise<unknown>;
}

function rawCalls(url: string, tokens: TetherTokens): Calls {
  const call = <T>(service: string, method: string, body: unknown, headers: Record<string, string>) =>
    postJson<T>(`${url}/tether.v1.${service}/${method}`, body, { headers });
  const registration = authorization(tokens.registration);
  const client = authorization(tokens.client);
  return {
    register: async (name) =>
      authorization((await call<{ credential: string }>("LauncherService", "RegisterLauncher", {
        name, hostname: "bench-host", executors: ["echo"], maxConcurrency: 1, version: "bench", instanceId: randomUUID(),
      }, registration)).credential),
    poll: async (launcher) => {
      const r = await call<{ offers?: { job: { id: string; parameters: { n: number } }; fencingToken: string }[] }>(
        "LauncherService", "PollJobs", { pollId: randomUUID(), freeSlots: 1 }, launcher,
      );
      return (r.offers ?? []).map((o) => ({ jobId: o.job.id, token: o.fencingToken, n: o.job.parameters.n }));
    },
    accept: (launcher, o) => call("LauncherService", "AcceptJob", { jobId: o.jobId, fencingToken: o.token }, launcher),
    finish: (launcher, o) =>
      call("LauncherService", "FinishJob", {
        jobId: o.jobId, fencingToken: o.token, state: "JOB_STATE_SUCCEEDED", exitCode: 0,
      }, launcher),
    create: (n) =>
      call("JobService", "CreateJob", {
        type: "JOB_TYPE_COMMAND", executor: "echo", projectDir: "/tmp", parameters: { n },
      }, client),
  };
}

function connectCalls(url: string, tokens: TetherTokens): Calls {
  const jobs = jobClient(url, tokens.client);
  const launchers = createClient(LauncherService, connectTransport(url));
  const registration = authorization(tokens.registration);
  return {
    register: async (name) =>
      authorization((await launchers.registerLauncher({
        name, hostname: "bench-host", executors: ["echo"], maxConcurrency: 1, version: "bench", instanceId: randomUUID(),
      }, { headers: registration })).credential),
    poll: async (headers) =>
      (await launchers.pollJobs({ pollId: randomUUID(), freeSlots: 1 }, { headers, timeoutMs: 35_000 })).offers
        .map((o) => ({ jobId: o.job!.id, token: o.fencingToken, n: (o.job!.parameters as { n: number }).n })),
    accept: (headers, o) => launchers.acceptJob({ jobId: o.jobId, fencingToken: o.token }, { headers }),
    finish: (headers, o) =>
      launchers.finishJob({ jobId: o.jobId, fencingToken: o.token, state: JobState.SUCCEEDED, exitCode: 0 }, { headers }),
    create: (n) => jobs.createJob(echoJobWith({ n })),
  };
}

/** Dispatch latencies (create sent -> poll returned it) of `rate` jobs/s for `seconds`. */
async function measure(calls: Calls, run: string): Promise<number[]> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let stop = false;
  const launchers = await Promise.all(
    Array.from({ length: pollers }, (_, i) => calls.register(`${run.replace(":", "-")}-${i}`)),
  );
  let failure: unknown = null;
  for (const launcher of launchers) {
    void (async () => {
      while (!stop) {
        const offers = await calls.poll(launcher);
        const at = monoMs();
        for (const o of offers) {
          latencies.push(at - sentAt.get(o.n)!);
          await calls.accept(launcher, o);
          await calls.finish(launcher, o);
        }
      }
    })().catch((error: unknown) => {
      // Held polls fail once the coordinator stops after the run; only a failure during it counts.
      if (!stop) failure ??= error;
    });
  }
  await sleep(500);
  const start = monoMs();
  const creates: Promise<unknown>[] = [];
  for (let n = 0; n < rate * seconds; n++) {
    await sleep(start + (n * 1000) / rate - monoMs());
    sentAt.set(n, monoMs());
    creates.push(calls.create(n));
  }
  await Promise.all(creates);
  await sleep(2_000);
  stop = true;
  if (failure) throw failure;
  return latencies;
}

console.log(`dispatch latency, ms, ${rate} jobs/s for ${seconds} s, ${pollers} launchers (a fresh coordinator for each client)`);
for (const [name, calls] of [["node:http", rawCalls], ["connect-node", connectCalls]] as const) {
  const server = await startTetherServer({ countQueries: false });
  try {
    const d = distribution(await measure(calls(server.url, server.tokens), name));
    const ms = (v: number) => v.toFixed(2).padStart(7);
    console.log(`${name.padEnd(12)}  n ${d.n}  p50 ${ms(d.p50)}  p90 ${ms(d.p90)}  p99 ${ms(d.p99)}  max ${ms(d.max)}`);
  } finally {
    await server.stop();
  }
}
console.log(`reproduce: node --import tsx bench/dispatch_clients.ts ${rate} ${seconds}`);
process.exit(0);
