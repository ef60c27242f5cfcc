/**
 * The coordinator with --tls-cert and --tls-key: one port serving HTTPS,
 * HTTP/1.1 and HTTP/2 as ALPN picks, to clients that trust its CA (made
 * here with openssl, as a self-signed deployment would).
 */
import https from "node:https";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { bearer } from "../../tools/support/connect_clients.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { makeTestCertificates, type TestCertificates } from "../support/tls_certificates.ts";

let certs: TestCertificates;
let t: TestCoordinator;
let url: string;
const sessions: Http2SessionManager[] = [];

beforeAll(async () => {
  certs = await makeTestCertificates();
  t = await startTestCoordinator({ tlsCertPath: certs.certPath, tlsKeyPath: certs.keyPath });
  url = t.url.replace(/^http:/, "https:");
});

afterAll(async () => {
  for (const session of sessions) session.abort();
  await t?.close();
});

/** The one place clients get their credentials. */
const interceptors = () => [bearer(t.tokens.client)];

function h2Session(options: { ca?: string } = {}): Http2SessionManager {
  const session = new Http2SessionManager(url, undefined, options);
  sessions.push(session);
  return session;
}

const transports: [string, () => Transport][] = [
  [
    "Connect over HTTP/1.1",
    () =>
      createConnectTransport({
        baseUrl: url,
        httpVersion: "1.1",
        nodeOptions: { ca: certs.caPem },
        interceptors: interceptors(),
      }),
  ],
  [
    "Connect over HTTP/2",
    () =>
      createConnectTransport({
        baseUrl: url,
        httpVersion: "2",
        sessionManager: h2Session({ ca: certs.caPem }),
        interceptors: interceptors(),
      }),
  ],
  [
    "gRPC",
    () =>
      createGrpcTransport({
        baseUrl: url,
        sessionManager: h2Session({ ca: certs.caPem }),
        interceptors: interceptors(),
      }),
  ],
  [
    "gRPC-Web over HTTP/1.1",
    () =>
      createGrpcWebTransport({
        baseUrl: url,
        httpVersion: "1.1",
        nodeOptions: { ca: certs.caPem },
        interceptors: interceptors(),
      }),
  ],
];

/** A GET over HTTPS trusting the CA, reporting the HTTP version ALPN chose. */
function get(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; version: string; body: string }>((resolve, reject) => {
    // servername: the certificate's name, whatever Host the test sends.
    https.get(`${url}${path}`, { ca: certs.caPem, headers, agent: false, servername: "localhost" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => body += chunk);
      res.on("end", () => resolve({ status: res.statusCode!, version: res.httpVersion, body }));
    }).on("error", reject);
  });
}

describe("a coordinator with a certificate", () => {
  it.for(transports)("serves %s to a client that trusts its CA: create, read, watch, errors", async ([, make]) => {
    const jobs = createClient(JobService, make());
    const { job } = await jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" }, {
      timeoutMs: 5_000,
    });
    expect((await jobs.getJob({ id: job!.id }, { timeoutMs: 5_000 })).job).toEqual(job);
    const watched = jobs.watchJob({ id: job!.id }, { timeoutMs: 5_000 })[Symbol.asyncIterator]();
    const first = (await watched.next()).value!;
    expect(first.kind.case === "job" && first.kind.value.state).toBe(JobState.QUEUED);
    await watched.return?.();
    await expect(jobs.getJob({ id: "job_missing" }, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });

  it("answers /healthz and the NDJSON watch over HTTPS", async () => {
    expect(await get("/healthz")).toEqual({ status: 200, version: "1.1", body: "ok\n" });
    const { job } = await createClient(JobService, transports[0]![1]()).createJob({
      type: JobType.COMMAND,
      executor: "echo",
      projectDir: "/srv/repo",
    });
    await createClient(JobService, transports[0]![1]()).cancelJob({ id: job!.id });
    const watch = await get(`/v1/jobs/${job!.id}/watch`, { authorization: `Bearer ${t.tokens.client}` });
    expect(watch.status).toBe(200);
    expect(JSON.parse(watch.body.trim().split("\n").at(-1)!).job.state).toBe("JOB_STATE_CANCELLED");
  });

  it("checks Host and Origin over TLS too: the own https origin passes, a foreign Host does not", async () => {
    const port = new URL(url).port;
    expect((await get("/healthz", { origin: `https://127.0.0.1:${port}` })).status).toBe(200);
    expect((await get("/healthz", { origin: `http://127.0.0.1:${port}` })).status).toBe(403);
    expect((await get("/healthz", { host: "attacker.example" })).status).toBe(403);
  });

  it("is refused by clients that do not trust its CA, and nothing reaches the handlers", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const untrusted = [
      createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: interceptors() }),
      createGrpcTransport({ baseUrl: url, sessionManager: h2Session(), interceptors: interceptors() }),
    ];
    for (const transport of untrusted) {
      await expect(
        createClient(JobService, transport).createJob(
          { type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" },
          { timeoutMs: 5_000 },
        ),
      ).rejects.toMatchObject({ message: expect.stringMatching(/unable to verify the first certificate/) });
    }
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("does not answer plain HTTP on its port", async () => {
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
  });
});
