/**
 * The protocols the coordinator speaks on its one port, each spoken the way
 * its clients speak it.
 *
 * Watching a job with curl through the WatchJob RPC itself. (The README's
 * one-liner is the NDJSON form, `curl -sN .../v1/jobs/<id>/watch`, pinned by
 * watch_ndjson.test.ts.) A Connect stream frames every message with 5 bytes:
 * a flags byte, then the big-endian length of the JSON that follows. The
 * request is one such frame; the answer is one frame per message, then an
 * end frame (flags 2) holding `{}`, or `{"error":...}` when the watch failed.
 *
 *   id=job_...                                    # from CreateJob
 *   body="{\"id\":\"$id\",\"fromOffset\":\"0\"}"  # under 256 bytes, so one length byte will do
 *   { printf '\0\0\0\0'; printf "\\$(printf %03o ${#body})"; printf %s "$body"; } |
 *     curl -sN --output - http://127.0.0.1:7070/tether.v1.JobService/WatchJob -H "Authorization: Bearer $(cat data/client.token)" \
 *       -H 'content-type: application/connect+json' --data-binary @-
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { GetJobRequestSchema, GetJobResponseSchema, JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import {
  type EndStream,
  endStreamFlag,
  envelope,
  type Frame,
  frameJson,
  readFrames,
} from "../support/connect_envelope.ts";
import { bearer } from "../../tools/support/connect_clients.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

const services = [JobService, SessionService, LauncherService, OperatorService];
const readOnly = services.flatMap((s) => s.methods)
  .filter((m) => m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS);

let t: TestCoordinator;
/** A START_SESSION job that ran with two events and SUCCEEDED. */
let finished: { jobId: string; sessionId: string };

beforeAll(async () => {
  t = await startTestCoordinator();
  const worker = await LauncherDriver.register(t, { name: "worker" });
  await t.jobs.createJob({ type: JobType.START_SESSION, executor: "echo", projectDir: "/srv/repo" });
  const offer = await worker.nextOffer();
  await worker.accept(offer);
  await worker.append(offer, 0, [{ type: "text", text: "hello" }, { type: "text", text: "world" }]);
  await worker.succeed(offer);
  finished = { jobId: offer.job!.id, sessionId: offer.job!.sessionId };
});

afterAll(() => t?.close());

/** The admin token, which may call every RPC these tests call by hand. */
const auth = () => ({ authorization: `Bearer ${t.tokens.admin}` });

const post = (path: string, body: unknown) =>
  fetch(`${t.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth() },
    body: JSON.stringify(body),
  });

const commandJob = { type: "JOB_TYPE_COMMAND", executor: "echo", projectDir: "/srv/repo" };

/** Collects a server stream's messages; fails fast rather than hanging when the transport is broken. */
async function watchAll(transport: Transport, id: string, fromOffset = 0n) {
  const messages = [];
  for await (const { kind } of createClient(JobService, transport).watchJob({ id, fromOffset }, { timeoutMs: 5_000 })) {
    messages.push(kind.case === "job" ? `job JOB_STATE_${JobState[kind.value.state]}` : kind.case === "event" ? `event ${kind.value.offset}` : kind.case);
  }
  return messages;
}

describe("Connect JSON over HTTP/1.1", () => {
  it("creates a job with a plain POST and reads it back, as curl does", async () => {
    const created = await post("/tether.v1.JobService/CreateJob", commandJob);
    expect(created.status).toBe(200);
    expect(created.headers.get("content-type")).toBe("application/json");
    const { job } = await created.json();
    expect(job).toMatchObject({ id: expect.stringMatching(/^job_/), state: "JOB_STATE_QUEUED", executor: "echo" });
    const read = await post("/tether.v1.JobService/GetJob", { id: job.id });
    expect((await read.json()).job).toEqual(job);
  });

  it("marks exactly GetJob, ListJobs, GetSession, ListSessions, ListLaunchers and ListTokens as side-effect free", () => {
    expect(readOnly.map((m) => m.name).sort())
      .toEqual(["GetJob", "GetSession", "ListJobs", "ListLaunchers", "ListSessions", "ListTokens"]);
  });

  it.for(readOnly)("answers $name to a GET with the message in the query, as to a POST", async (method) => {
    const message = { GetJob: { id: finished.jobId }, GetSession: { id: finished.sessionId } }[method.name] ?? {};
    const path = `/${method.parent.typeName}/${method.name}`;
    const posted = await (await post(path, message)).json();
    const query = `encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`;
    for (const url of [`${t.url}${path}?${query}`, `${t.url}${path}?connect=v1&${query}`]) {
      const got = await fetch(url, { headers: auth() });
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual(posted);
    }
  });

  it("refuses a GET of CreateJob, which has side effects, and creates nothing", async () => {
    const before = (await t.jobs.listJobs({})).jobs.length;
    const message = encodeURIComponent(JSON.stringify(commandJob));
    const got = await fetch(`${t.url}/tether.v1.JobService/CreateJob?encoding=json&message=${message}`, { headers: auth() });
    expect(got.status).toBe(405);
    expect((await t.jobs.listJobs({})).jobs.length).toBe(before);
  });

  it("answers PollJobs empty before a Connect-Timeout-Ms shorter than its hold, rather than failing", async () => {
    const idle = await LauncherDriver.register(t, { name: "idle", executors: ["nothing-runs-this"] });
    const got = await fetch(`${t.url}/tether.v1.LauncherService/PollJobs`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "connect-timeout-ms": "500",
        authorization: `Bearer ${idle.credential}`,
      },
      body: JSON.stringify({ pollId: "p-1", freeSlots: 1 }),
    });
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({});
  });

  it("answers /healthz with 200", async () => {
    const got = await fetch(`${t.url}/healthz`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("ok\n");
  });
});

describe("Connect binary over HTTP/1.1", () => {
  it("reads a job posted as application/proto and answers in proto", async () => {
    const got = await fetch(`${t.url}/tether.v1.JobService/GetJob`, {
      method: "POST",
      headers: { "content-type": "application/proto", ...auth() },
      body: new Uint8Array(toBinary(GetJobRequestSchema, create(GetJobRequestSchema, { id: finished.jobId }))),
    });
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/proto");
    const { job } = fromBinary(GetJobResponseSchema, new Uint8Array(await got.arrayBuffer()));
    expect(job).toMatchObject({ id: finished.jobId, state: JobState.SUCCEEDED });
  });
});

describe("WatchJob as a raw Connect stream, as curl sends it", () => {
  const watch = (body: object) =>
    fetch(`${t.url}/tether.v1.JobService/WatchJob`, {
      method: "POST",
      headers: { "content-type": "application/connect+json", ...auth() },
      body: envelope(JSON.stringify(body)),
    });
  const describeFrame = (frame: Frame) => {
    if (frame.flags & endStreamFlag) return `end ${JSON.stringify(frameJson<EndStream>(frame))}`;
    const message = frameJson<{ job?: { state: string }; event?: { offset?: string } }>(frame);
    return message.job ? `job ${message.job.state}` : `event ${message.event?.offset ?? "0"}`;
  };

  it("replays a finished job's events from an offset, then ends", async () => {
    const got = await watch({ id: finished.jobId, fromOffset: "1" });
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/connect+json");
    const frames = [];
    for await (const frame of readFrames(got.body!)) frames.push(describeFrame(frame));
    expect(frames).toEqual(["job JOB_STATE_SUCCEEDED", "event 1", "end {}"]);
  });

  it("follows a running job live until it ends", async () => {
    const live = await LauncherDriver.register(t, { name: "live", executors: ["live"] });
    await t.jobs.createJob({ type: JobType.COMMAND, executor: "live", projectDir: "/srv/repo" });
    const offer = await live.nextOffer();
    await live.accept(offer);
    const frames = readFrames((await watch({ id: offer.job!.id })).body!)[Symbol.asyncIterator]();
    const next = async () => describeFrame((await frames.next()).value!);

    expect(await next()).toBe("job JOB_STATE_RUNNING");
    await live.append(offer, 0, [{ type: "text", text: "working" }]);
    expect(await next()).toBe("event 0");
    await live.succeed(offer);
    expect([await next(), await next()]).toEqual(["job JOB_STATE_SUCCEEDED", "end {}"]);
    expect((await frames.next()).done).toBe(true);
  });
});

describe("gRPC over h2c on the same port", () => {
  let h2c: Http2SessionManager;
  let grpc: Transport;
  beforeAll(() => {
    h2c = new Http2SessionManager(t.url);
    grpc = createGrpcTransport({ baseUrl: t.url, sessionManager: h2c, interceptors: [bearer(t.tokens.client)] });
  });
  afterAll(() => h2c.abort());

  it("creates and reads a job", async () => {
    const jobs = createClient(JobService, grpc);
    const { job } = await jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" }, {
      timeoutMs: 5_000,
    });
    expect((await jobs.getJob({ id: job!.id }, { timeoutMs: 5_000 })).job).toEqual(job);
  });

  it("streams a watch and carries error codes", async () => {
    expect(await watchAll(grpc, finished.jobId)).toEqual(["job JOB_STATE_SUCCEEDED", "event 0", "event 1"]);
    await expect(createClient(JobService, grpc).getJob({ id: "job_missing" }, { timeoutMs: 5_000 }))
      .rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("gRPC-Web over HTTP/1.1", () => {
  let web: Transport;
  beforeAll(() => {
    web = createGrpcWebTransport({ baseUrl: t.url, httpVersion: "1.1", interceptors: [bearer(t.tokens.client)] });
  });

  it("creates and reads a job", async () => {
    const jobs = createClient(JobService, web);
    const { job } = await jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" });
    expect((await jobs.getJob({ id: job!.id })).job).toEqual(job);
  });

  it("streams a watch and carries error codes", async () => {
    expect(await watchAll(web, finished.jobId, 1n)).toEqual(["job JOB_STATE_SUCCEEDED", "event 1"]);
    await expect(createClient(JobService, web).getJob({ id: "job_missing" }))
      .rejects.toMatchObject({ code: Code.NotFound });
  });
});
