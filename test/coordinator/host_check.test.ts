/**
 * Host and Origin checks (DNS rebinding): a page on attacker.example makes
 * its own name resolve to 127.0.0.1 and calls the coordinator; the Host it
 * sends is still attacker.example. Each "rebound" request below connects to
 * 127.0.0.1 while naming attacker.example, as that page's would.
 */
import http from "node:http";
import net from "node:net";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { bearer } from "../../tools/support/connect_clients.ts";
import { type EndStream, endStreamFlag, envelope, frameJson, splitFrames } from "../support/connect_envelope.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

let t: TestCoordinator;
let port: number;
let jobId: string;
const sessions: Http2SessionManager[] = [];

beforeAll(async () => {
  t = await startTestCoordinator();
  port = Number(new URL(t.url).port);
  const { job } = await t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" });
  jobId = job!.id;
});

afterAll(async () => {
  for (const session of sessions) session.abort();
  await t?.close();
});

/** The one place requests get their credentials: raw requests' header, and clients' interceptor. */
const auth = (): Record<string, string> => ({ authorization: `Bearer ${t.tokens.client}` });
const interceptors = () => [bearer(t.tokens.client)];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request to the coordinator at 127.0.0.1 with whatever Host and headers the test gives. */
function request(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path,
      method: options.method ?? "GET",
      headers: { ...auth(), ...options.headers },
      agent: false,
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => body += chunk);
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    // A watch that was let through would stream on; fail fast instead.
    req.setTimeout(5_000, () => req.destroy(new Error(`no whole answer to ${path} within 5 s`)));
    req.end(options.body);
  });
}

const createJobBody = JSON.stringify({ type: "JOB_TYPE_COMMAND", executor: "echo", projectDir: "/srv/repo" });
const postCreateJob = (headers: Record<string, string>) =>
  request("/tether.v1.JobService/CreateJob", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: createJobBody,
  });

/** An HTTP/2 session to 127.0.0.1 whose requests name attacker.example as their :authority. */
function reboundSession(): { baseUrl: string; sessionManager: Http2SessionManager } {
  const baseUrl = `http://attacker.example:${port}`;
  const sessionManager = new Http2SessionManager(baseUrl, undefined, {
    createConnection: () => net.connect(port, "127.0.0.1"),
  });
  sessions.push(sessionManager);
  return { baseUrl, sessionManager };
}

const createCommandJob = (transport: Transport) =>
  createClient(JobService, transport).createJob(
    { type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" },
    { timeoutMs: 5_000 },
  );

describe("a request naming another host (DNS rebinding)", () => {
  it.for(
    [
      ["a JSON POST of CreateJob", () => postCreateJob({ host: `attacker.example:${port}` })],
      ["a GET of ListJobs", () =>
        request(`/tether.v1.JobService/ListJobs?encoding=json&message=%7B%7D`, {
          headers: { host: "attacker.example" },
        })],
      [
        "the NDJSON watch route",
        () => request(`/v1/jobs/${jobId}/watch?fromOffset=0`, { headers: { host: `attacker.example:${port}` } }),
      ],
      ["/healthz", () => request("/healthz", { headers: { host: "attacker.example" } })],
    ] as const,
  )("%s is refused 403 with a Connect error that says what to fix, and changes nothing", async ([, send]) => {
    const before = await snapshotDatabase(t.dbPath);
    const answer = await send();
    expect(answer.status).toBe(403);
    expect(answer.headers["content-type"]).toBe("application/json");
    const error = JSON.parse(answer.body);
    expect(error.code).toBe("permission_denied");
    expect(error.message).toContain('Host "attacker.example');
    expect(error.message).toContain("add it to --allowed-hosts (TETHER_ALLOWED_HOSTS)");
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("refuses a raw Connect stream of WatchJob in its end-of-stream message, as Connect streams carry errors", async () => {
    const answer = await request("/tether.v1.JobService/WatchJob", {
      method: "POST",
      headers: { host: "attacker.example", "content-type": "application/connect+json" },
      body: envelope(JSON.stringify({ id: jobId })),
    });
    expect([answer.status, answer.headers["content-type"]]).toEqual([200, "application/connect+json"]);
    const frames = splitFrames(Buffer.from(answer.body));
    expect(frames.map((f) => f.flags)).toEqual([endStreamFlag]);
    expect(frameJson<EndStream>(frames[0]!).error).toMatchObject({
      code: "permission_denied",
      message: expect.stringContaining("add it to --allowed-hosts (TETHER_ALLOWED_HOSTS)"),
    });
  });

  it("reaches Connect, gRPC and gRPC-Web clients as PERMISSION_DENIED with the text, with nothing created", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const connectH2 = createConnectTransport({
      ...reboundSession(),
      httpVersion: "2",
      interceptors: interceptors(),
    });
    const grpc = createGrpcTransport({ ...reboundSession(), interceptors: interceptors() });
    const grpcWeb = createGrpcWebTransport({
      baseUrl: `http://attacker.example:${port}`,
      httpVersion: "1.1",
      nodeOptions: { createConnection: () => net.connect(port, "127.0.0.1") },
      interceptors: interceptors(),
    });
    await expect(createCommandJob(connectH2)).rejects.toMatchObject({
      code: Code.PermissionDenied,
      rawMessage: expect.stringContaining("--allowed-hosts"),
    });
    // gRPC and gRPC-Web get a trailers-only answer with grpc-status and grpc-message.
    for (const transport of [grpc, grpcWeb]) {
      await expect(createCommandJob(transport)).rejects.toMatchObject({
        code: Code.PermissionDenied,
        rawMessage: expect.stringContaining("--allowed-hosts"),
      });
    }
    // A server stream is refused before its first message.
    const watch = createClient(JobService, grpc).watchJob({ id: jobId }, { timeoutMs: 5_000 });
    await expect(watch[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: Code.PermissionDenied });
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });
});

describe("the names the coordinator answers to", () => {
  it.for(["127.0.0.1", "localhost", "[::1]", "LOCALHOST", "127.0.0.1:PORT", "localhost:PORT", "[::1]:PORT"])(
    "answers Host %s on a loopback listen",
    async (host) => {
      const answer = await request("/healthz", { headers: { host: host.replace("PORT", String(port)) } });
      expect(answer.status).toBe(200);
    },
  );

  it("answers a loopback name at another port, as a proxy on this host passes it on", async () => {
    expect((await request("/healthz", { headers: { host: "localhost:8443" } })).status).toBe(200);
  });

  it("answers a name given in --allowed-hosts, at any port unless the entry names one", async () => {
    const named = await startTestCoordinator({
      allowedHosts: [{ name: "tether.internal", port: null }, { name: "proxy.internal", port: 8443 }],
    });
    try {
      const at = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const { port: namedPort } = new URL(named.url);
          http.get({ host: "127.0.0.1", port: namedPort, path: "/healthz", headers: { host }, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          }).on("error", reject);
        });
      expect(await at("tether.internal")).toBe(200);
      expect(await at("tether.internal:443")).toBe(200);
      expect(await at("proxy.internal:8443")).toBe(200);
      expect(await at("proxy.internal:8080")).toBe(403);
      expect(await at("attacker.example")).toBe(403);
    } finally {
      await named.close();
    }
  });
});

describe("the Origin of a browser request", () => {
  it.for([
    ["another site", "http://attacker.example"],
    ["another port of this host", "http://127.0.0.1:9"],
    ["another loopback name", "http://localhost:PORT"],
    ["another scheme", "https://127.0.0.1:PORT"],
    ["an opaque origin", "null"],
  ])("is refused when it is %s, even with the coordinator's own Host, and changes nothing", async ([, origin]) => {
    const before = await snapshotDatabase(t.dbPath);
    const answer = await postCreateJob({ host: `127.0.0.1:${port}`, origin: origin!.replace("PORT", String(port)) });
    expect(answer.status).toBe(403);
    const error = JSON.parse(answer.body);
    expect(error).toMatchObject({
      code: "permission_denied",
      message: expect.stringContaining("is not this coordinator's own origin"),
    });
    expect(answer.headers).not.toHaveProperty("access-control-allow-origin");
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("is allowed when it is the coordinator's own, and no CORS header is sent", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const answer = await postCreateJob({ host, origin: `http://${host}` });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).job.state).toMatch(/^JOB_STATE_/);
      expect(Object.keys(answer.headers).filter((name) => name.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("a CORS preflight from another site is refused and grants nothing", async () => {
    const answer = await request("/tether.v1.JobService/CreateJob", {
      method: "OPTIONS",
      headers: {
        origin: "http://attacker.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(answer.status).toBe(403);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith("access-control-"))).toEqual([]);
  });
});
