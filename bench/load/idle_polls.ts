// Load generator: registers `--polls` launchers with `--registration-token`, then on
// {"cmd":"poll"} opens one PollJobs long poll for each, sending the credential its
// registration returned, every one on its own TCP connection, bound in turn
// to `--addresses` local addresses 127.0.0.2, 127.0.0.3, ... (one address has about
// 28k ephemeral ports). Prints {"type":"holding"} once every request is sent, and
// {"type":"answered", at} once every poll has returned an offer.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { createClient } from "@connectrpc/connect";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { connectTransport } from "../../tools/support/connect_clients.ts";
import { monoMs } from "../support/clock.ts";
import { emit, onCommand, parseFlags } from "../support/emit.ts";

const flags = parseFlags(process.argv.slice(2));
const url = new URL(flags.url!);
const polls = Number(flags.polls);
const addresses = Number(flags.addresses ?? 1);
const timeoutMs = Number(flags["timeout-ms"] ?? 600_000);
const registrationToken = flags["registration-token"];
if (!registrationToken) throw new Error("--registration-token is required: the coordinator registers no launcher without one");
const launchers = createClient(LauncherService, connectTransport(url.origin, registrationToken));

/** Each registered launcher's credential: it names the launcher, so a poll carries nothing else about it. */
const credentials: string[] = [];
let next = 0;
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < polls) {
    next++;
    const { credential } = await launchers.registerLauncher({
      name: `idle-${randomUUID()}`, hostname: "bench-host", executors: ["echo"], maxConcurrency: 1,
      version: "bench", instanceId: randomUUID(),
    });
    credentials.push(credential);
  }
}));
emit({ type: "registered", count: credentials.length });

const requests: http.ClientRequest[] = [];
let answered = 0;
let empty = 0;
let failed = 0;
let firstError = "";

function done(): void {
  if (answered + empty + failed === polls) emit({ type: "answered", at: monoMs(), answered, empty, failed, firstError });
}

function poll(credential: string, index: number): void {
  const body = Buffer.from(JSON.stringify({ pollId: randomUUID(), freeSlots: 1 }));
  const req = http.request({
    host: url.hostname, port: url.port, path: "/tether.v1.LauncherService/PollJobs", method: "POST", agent: false,
    localAddress: `127.0.0.${2 + (index % addresses)}`,
    headers: {
      "content-type": "application/json", "content-length": body.length, "connect-protocol-version": "1",
      "connect-timeout-ms": String(timeoutMs), authorization: `Bearer ${credential}`,
    },
  }, (res) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      if (res.statusCode !== 200) {
        failed++;
        firstError ||= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
      } else if (((JSON.parse(text || "{}") as { offers?: unknown[] }).offers?.length ?? 0) > 0) answered++;
      else empty++;
      done();
    });
  });
  req.on("error", (e) => {
    failed++;
    firstError ||= String(e);
    done();
  });
  req.end(body);
  requests.push(req);
}

onCommand(async (c) => {
  if (c.cmd === "poll") {
    // Paced: connections the coordinator has not accepted yet wait in its listen backlog (511), and
    // past that the kernel answers with SYN cookies, leaving connections that look open but are not.
    for (let i = 0; i < credentials.length; i++) {
      poll(credentials[i]!, i);
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 60));
    }
    emit({ type: "holding", at: monoMs(), failed, firstError });
  }
  if (c.cmd === "stop") {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
