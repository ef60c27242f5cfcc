/**
 * The cost of decoding one request is bounded by its entries (object keys
 * and array elements), counted before Connect decodes anything: a body past
 * --max-request-entries, or nested too deep, is refused with
 * invalid_argument in every protocol the port speaks and changes nothing,
 * while a body within it, whatever its strings hold, is served.
 */
import { once } from "node:events";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { create, fromJson, type JsonObject, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { CreateJobRequestSchema, JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { AppendJobEventsRequestSchema } from "../../gen/tether/v1/launcher_service_pb.ts";
import { countJsonEntries, countProtoEntries } from "../../coordinator/api/entry_count.ts";
import { bearer } from "../../tools/support/connect_clients.ts";
import { type EndStream, envelope, frameJson, readFrames } from "../support/connect_envelope.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

/** The entries of a JSON value, by their definition: every key and every element, at any depth. */
function entriesOf(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + 1 + entriesOf(v), 0);
  if (value !== null && typeof value === "object") {
    return Object.values(value).reduce<number>((n, v) => n + 1 + entriesOf(v), 0);
  }
  return 0;
}

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 6 })) as fc.Arbitrary<JsonObject>;

describe("counting entries without decoding", () => {
  it("counts JSON text's entries as the definition does, however it is spaced and whatever its strings hold", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), fc.constantFrom(0, 2), (value, indent) => {
      const text = Buffer.from(JSON.stringify(value, null, indent));
      expect(countJsonEntries(text, Infinity, 100)).toEqual({ entries: entriesOf(value), tooDeep: false });
    }));
  });

  it("counts a protobuf body's entries as its JSON form's, the repeated fields' names aside", () => {
    fc.assert(fc.property(jsonObject, fc.array(jsonObject, { maxLength: 4 }), (parameters, events) => {
      // protobuf-es leaves a "__proto__" key out of the Struct it builds: fewer entries, the safe side.
      fc.pre(!JSON.stringify([parameters, events]).includes('"__proto__"'));
      const job = toBinary(CreateJobRequestSchema, create(CreateJobRequestSchema, { parameters }));
      expect(countProtoEntries(CreateJobRequestSchema, job, Infinity, 100).entries).toBe(1 + entriesOf(parameters));
      const batch = toBinary(AppendJobEventsRequestSchema, create(AppendJobEventsRequestSchema, { jobId: "j", events }));
      const expected = 1 + events.reduce((n, e) => n + 1 + entriesOf(e), 0);
      expect(countProtoEntries(AppendJobEventsRequestSchema, batch, Infinity, 100).entries).toBe(expected);
    }));
  });

  it("stops a little past the limit, and at the depth limit", () => {
    const many = Buffer.from(JSON.stringify(new Array(1_000_000).fill(0)));
    expect(countJsonEntries(many, 10, 100).entries).toBe(11);
    const deep = Buffer.from("[".repeat(101) + "]".repeat(101));
    expect(countJsonEntries(deep, 1e9, 100).tooDeep).toBe(true);
    const deepStruct: JsonValue = JSON.parse(`{"a":${"[".repeat(60)}${"]".repeat(60)}}`);
    const binary = toBinary(CreateJobRequestSchema, create(CreateJobRequestSchema, { parameters: deepStruct as JsonObject }));
    // Each JSON level is two messages in protobuf (a Value holding a ListValue).
    expect(countProtoEntries(CreateJobRequestSchema, binary, 10_000, 100).tooDeep).toBe(true);
  });

  it("throws on protobuf wire data it cannot walk", () => {
    expect(() => countProtoEntries(CreateJobRequestSchema, new Uint8Array([0xff, 0xff, 0xff]), 10, 100)).toThrow();
    // Field 3 (parameters) announcing 100 bytes where there are 2.
    expect(() => countProtoEntries(CreateJobRequestSchema, new Uint8Array([0x1a, 100, 0, 0]), 10, 100)).toThrow();
  });
});

const maxRequestEntries = 1000;
/** Parameters of `n` entries. */
const parametersOf = (n: number): JsonObject => ({ items: new Array(n - 1).fill(0) });
const job = (parameters: JsonObject) => ({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo", parameters });

let t: TestCoordinator;
let h2c: Http2SessionManager;

beforeAll(async () => {
  t = await startTestCoordinator({ maxRequestEntries });
  h2c = new Http2SessionManager(t.url);
});

afterAll(async () => {
  h2c?.abort();
  await t?.close();
});

/** Expects `call` refused for its entries with invalid_argument, the database unchanged. */
async function refusal(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return await call.then(() => undefined, (e: unknown) => ConnectError.from(e));
}

async function expectRefused(call: () => Promise<unknown>, says = /more than 1000 entries/): Promise<void> {
  const before = await snapshotDatabase(t.dbPath);
  const error = await refusal(call());
  expect(error?.code, "refused with invalid_argument").toBe(Code.InvalidArgument);
  expect(error?.rawMessage).toMatch(says);
  expect(await snapshotDatabase(t.dbPath)).toEqual(before);
}

describe("a request past --max-request-entries is refused before decoding, in every protocol", () => {
  const transports: [string, () => Transport][] = [
    ["gRPC (binary, h2c)", () => createGrpcTransport({ baseUrl: t.url, sessionManager: h2c, interceptors: [bearer(t.tokens.client)] })],
    ["gRPC-Web JSON", () => createGrpcWebTransport({ baseUrl: t.url, httpVersion: "1.1", useBinaryFormat: false, interceptors: [bearer(t.tokens.client)] })],
    ["gRPC-Web binary", () => createGrpcWebTransport({ baseUrl: t.url, httpVersion: "1.1", useBinaryFormat: true, interceptors: [bearer(t.tokens.client)] })],
  ];

  it.for(transports)("%s: CreateJob past the limit is refused, at the limit served", async ([, transport]) => {
    const jobs = createClient(JobService, transport());
    await expectRefused(() => jobs.createJob(job(parametersOf(maxRequestEntries))));
    // The request's own fields count too: type, executor, projectDir and the parameters field.
    const created = await jobs.createJob(job(parametersOf(maxRequestEntries - 4)));
    expect(created.job?.parameters).toEqual(parametersOf(maxRequestEntries - 4));
  });

  /** POSTs `body` to CreateJob as curl would. */
  const post = (body: Uint8Array | string, headers: Record<string, string>) => async () => {
    const res = await fetch(`${t.url}/tether.v1.JobService/CreateJob`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.tokens.client}`, ...headers },
      body: typeof body === "string" ? body : new Uint8Array(body),
    });
    const answer = await res.json() as { code?: string; message?: string; job?: unknown };
    if (res.ok) return answer;
    expect(res.status).toBe(400);
    throw new ConnectError(answer.message ?? "", answer.code === "invalid_argument" ? Code.InvalidArgument : Code.Unknown);
  };
  const tooMany = JSON.stringify(job(parametersOf(maxRequestEntries)));

  it("Connect JSON, plain and gzip-compressed", async () => {
    await expectRefused(post(tooMany, { "content-type": "application/json" }));
    await expectRefused(post(gzipSync(tooMany), { "content-type": "application/json", "content-encoding": "gzip" }));
  });

  it("Connect binary", async () => {
    const binary = toBinary(CreateJobRequestSchema, fromJson(CreateJobRequestSchema, JSON.parse(tooMany)));
    await expectRefused(post(binary, { "content-type": "application/proto" }));
  });

  it("Connect GET, its message in the URL (gzip-compressed, base64)", async () => {
    const listJobs = (states: string[]) => {
      const message = gzipSync(JSON.stringify({ states })).toString("base64url");
      return fetch(`${t.url}/tether.v1.JobService/ListJobs?encoding=json&compression=gzip&base64=1&message=${message}`, {
        headers: { authorization: `Bearer ${t.tokens.client}` },
      });
    };
    const refused = await listJobs(new Array(maxRequestEntries).fill("JOB_STATE_QUEUED"));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/more than 1000 entries/) });
    expect((await listJobs(["JOB_STATE_QUEUED"])).status).toBe(200);
  });

  it("a Connect stream (WatchJob): an unknown field's entries are counted before the decoder would refuse the field", async () => {
    const body = JSON.stringify({ id: "job_x", junk: new Array(maxRequestEntries).fill(0) });
    const res = await fetch(`${t.url}/tether.v1.JobService/WatchJob`, {
      method: "POST",
      headers: { "content-type": "application/connect+json", authorization: `Bearer ${t.tokens.client}` },
      body: envelope(body),
    });
    let end: EndStream | undefined;
    for await (const frame of readFrames(res.body!)) end = frameJson<EndStream>(frame);
    expect(end?.error).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/more than 1000 entries/) });
  });

  it("a body nested past 100 levels is refused as such", async () => {
    const deep = `{"type":"JOB_TYPE_COMMAND","executor":"echo","projectDir":"/srv/repo","parameters":{"a":${"[".repeat(100)}${"]".repeat(100)}}}`;
    await expectRefused(post(deep, { "content-type": "application/json" }), /nests deeper than 100 levels/);
  });

  it("a binary body that is no message is refused with invalid_argument, naming the message", async () => {
    await expectRefused(post(new Uint8Array([0xff, 0xff, 0xff]), { "content-type": "application/proto" }), /not a valid tether\.v1\.CreateJobRequest/);
  });
});

describe("what strings hold is not counted", () => {
  it("serves parameters whose strings are full of commas, colons, brackets and escaped quotes", async () => {
    const text = `[{"a":1},\\"],:`.repeat(8_000);
    const created = await t.jobs.createJob(job({ text }));
    expect(created.job?.parameters).toEqual({ text });
  });
});

describe("request bodies held at once, across requests", () => {
  it("refuses a body past --max-body-memory with resource_exhausted while others hold it, and takes it once they are gone", async () => {
    const small = await startTestCoordinator({ maxBodyMemory: 1024 * 1024 });
    const sockets: net.Socket[] = [];
    try {
      // Two CreateJob bodies of 500 KB each, sent all but their last 50 KB: 900 KB held, waiting.
      for (let i = 0; i < 2; i++) {
        const socket = net.connect(Number(new URL(small.url).port), "127.0.0.1");
        await once(socket, "connect");
        socket.on("error", () => {});
        socket.write(
          `POST /tether.v1.JobService/CreateJob HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${small.tokens.client}\r\n` +
            `content-type: application/json\r\ncontent-length: 500000\r\n\r\n${" ".repeat(450_000)}`,
        );
        sockets.push(socket);
      }
      const parameters = { prompt: "p".repeat(200_000) };
      const send = () => refusal(small.jobs.createJob(job(parameters)));
      // Once both bodies are in, a third that would take 200 KB more is refused.
      let refused: ConnectError | undefined;
      for (const deadline = Date.now() + 10_000; !refused && Date.now() < deadline;) {
        refused = await send();
        if (!refused) await new Promise((r) => setTimeout(r, 20));
      }
      expect(refused?.code).toBe(Code.ResourceExhausted);
      expect(refused?.rawMessage).toMatch(/as many request bodies as its --max-body-memory \(1048576 bytes\) allows; nothing was changed/);
      // The held bodies' connections go away, and with them what they held.
      for (const socket of sockets) socket.destroy();
      let taken: ConnectError | undefined = refused;
      for (const deadline = Date.now() + 10_000; taken && Date.now() < deadline;) {
        taken = await send();
        if (taken) await new Promise((r) => setTimeout(r, 20));
      }
      expect(taken).toBeUndefined();
    } finally {
      for (const socket of sockets) socket.destroy();
      await small.close();
    }
  });
});
