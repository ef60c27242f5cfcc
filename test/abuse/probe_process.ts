/**
 * The probes of an attack, in a process of their own so that the attacker's
 * work does not slow them: a health probe (`GET /healthz` on a new
 * connection, as a load balancer's probe makes it, every 50 ms) and a normal
 * job's dispatch (CreateJob, then the offer reaching a launcher's held poll,
 * timed from the CreateJob call; then accepted and finished, one job at a
 * time). Prints one JSON line per sample (see ProbeLine) until SIGTERM.
 *
 * Usage: node --import tsx test/abuse/probe_process.ts <url> <client token> <registration token>
 */
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { healthPath } from "../../coordinator/http/auth_gate.ts";
import { clientsFor } from "../../tools/support/connect_clients.ts";
import { echoJob } from "../../tools/support/jobs.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";

/** What the probe prints: a sample, a job CreateJob acknowledged, or a failure of either probe. */
export type ProbeLine =
  | { probe: "ready" }
  | { probe: "health"; at: number; ms: number; status: number }
  | { probe: "created"; at: number; job: string }
  | { probe: "dispatch"; at: number; ms: number }
  | { probe: "error"; at: number; what: string; message: string };

/** The executor only the probe's launcher offers, so that it is offered its own jobs and nothing else. */
export const probeExecutor = "abuse-probe";

const [url = "", client = "", registration = ""] = process.argv.slice(2);
if (!url || !client || !registration) throw new Error("usage: probe_process.ts <url> <client token> <registration token>");
process.on("SIGTERM", () => process.exit(0));

function print(line: ProbeLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function failed(what: string, error: unknown): void {
  print({ probe: "error", at: Date.now(), what, message: (error as Error).message });
}

/** One GET /healthz on a connection of its own; resolves with the status. */
function probeHealth(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${healthPath}`, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
  });
}

async function healthLoop(): Promise<void> {
  for (;;) {
    const started = performance.now();
    try {
      const status = await probeHealth();
      print({ probe: "health", at: Date.now(), ms: performance.now() - started, status });
    } catch (error) {
      failed("health", error);
    }
    await sleep(Math.max(0, 50 - (performance.now() - started)));
  }
}

async function dispatchLoop(): Promise<void> {
  const clients = clientsFor(url, { client, registration, admin: "" });
  const launcher = await LauncherDriver.register(clients, { name: "abuse-probe", executors: [probeExecutor], maxConcurrency: 1 });
  print({ probe: "ready" });
  for (;;) {
    const started = performance.now();
    const giveUp = new AbortController();
    const offered = nextOffer(launcher, giveUp.signal);
    try {
      const { job } = await clients.jobs.createJob({ ...echoJob, executor: probeExecutor });
      print({ probe: "created", at: Date.now(), job: job!.id });
      const offer = await offered;
      print({ probe: "dispatch", at: Date.now(), ms: performance.now() - started });
      await launcher.accept(offer);
      await launcher.succeed(offer);
    } catch (error) {
      failed("dispatch", error);
      giveUp.abort();
      await offered.catch(() => {});
    }
    await sleep(Math.max(0, 100 - (performance.now() - started)));
  }
}

/** The next offer to the launcher's held polls, until `signal` gives up on it. */
async function nextOffer(launcher: LauncherDriver, signal: AbortSignal): Promise<Offer> {
  for (;;) {
    const { offers } = await launcher.poll({ signal });
    if (offers[0]) return offers[0];
  }
}

void healthLoop();
void dispatchLoop().catch((error) => {
  failed("dispatch", error);
  process.exit(1);
});
