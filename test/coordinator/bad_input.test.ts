/**
 * Every RPC fed bad input over real HTTP, as curl or a broken client would
 * send it: each is refused with the right Connect code, HTTP status and a
 * message that names what to fix, and the database is byte-for-byte what it
 * was (every table read through a second, read-only connection before and
 * after). The cases are in bad_input_cases.ts.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import {
  type EndStream,
  endStreamFlag,
  envelope,
  frameJson,
  readFrames,
  splitFrames,
} from "../support/connect_envelope.ts";
import { snapshotDatabase } from "../support/database_snapshot.ts";
import { RawConnection, type RawResponse } from "../support/raw_connection.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { badInputs, buildFixtures, type ErrorCode, type Fixtures, jobBody, unreadable } from "./bad_input_cases.ts";
import { bodyLimit } from "../../coordinator/api/body_limits.ts";

// Small enough that an oversized body is cheap to send, large enough that the
// per-field limits below it (1 MiB per event, 256 KiB of parameters) are reachable.
const readMaxBytes = 2 * 1024 * 1024;

/** The HTTP status of each Connect error code a unary call answers with (connectrpc.com/docs/protocol). */
const httpStatus: Record<ErrorCode, number> = {
  invalid_argument: 400,
  failed_precondition: 400,
  out_of_range: 400,
  not_found: 404,
  already_exists: 409,
  resource_exhausted: 429,
  unauthenticated: 401,
  permission_denied: 403,
};

const rpcs = new Map<string, DescMethod>(
  [JobService, SessionService, LauncherService, OperatorService].flatMap((s) => s.methods.map((m) => [m.name, m] as const)),
);

/** The credential a well-meaning caller of `method` sends (see Row's `as`). */
function usualCredential(method: DescMethod, f: Fixtures): string {
  if (method.parent === OperatorService) return f.tokens.admin;
  if (method.parent !== LauncherService) return f.tokens.client;
  return method.name === "RegisterLauncher" ? f.tokens.registration : f.a.credential;
}

interface Answer {
  status: number;
  contentType: string | null;
  error: { code?: string; message?: string } | undefined;
}

let t: TestCoordinator;
let fixtures: Fixtures;

/** POSTs a raw body to an RPC as curl would; a streaming RPC gets it in one envelope and answers in its end frame. */
async function call(
  rpc: string,
  body: string | Uint8Array<ArrayBuffer>,
  contentType = "application/json",
  token = usualCredential(rpcs.get(rpc)!, fixtures),
): Promise<Answer> {
  const method = rpcs.get(rpc)!;
  const streaming = method.methodKind === "server_streaming";
  const res = await fetch(`${t.url}/${method.parent.typeName}/${method.name}`, {
    method: "POST",
    // A poll or a watch that bad input failed to stop answers at this deadline instead of hanging the test.
    headers: {
      "connect-timeout-ms": "5000",
      "content-type": streaming ? "application/connect+json" : contentType,
      authorization: `Bearer ${token}`,
    },
    body: streaming && typeof body === "string" ? envelope(body) : body,
    signal: AbortSignal.timeout(10_000),
  });
  const answer = { status: res.status, contentType: res.headers.get("content-type") };
  if (!streaming) return { ...answer, error: res.ok ? undefined : await res.json() };
  let end: EndStream | undefined;
  for await (const frame of readFrames(res.body!)) if (frame.flags & endStreamFlag) end = frameJson<EndStream>(frame);
  return { ...answer, error: end?.error };
}

/**
 * Sends one request on a connection of its own, then a GET /healthz on that
 * connection: the server may close a connection whose request body it did
 * not read to the end, or answer the next request on it, but never neither.
 */
async function sendAlone(...request: (string | Uint8Array)[]): Promise<RawResponse> {
  const connection = await RawConnection.open(t.url);
  try {
    connection.send(...request);
    const answer = await connection.nextResponse();
    expect(answer, "an answer to the request").not.toBeNull();
    connection.send("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    const next = await connection.nextResponse();
    if (next !== null) expect(next.body.toString()).toBe("ok\n");
    return answer!;
  } finally {
    connection.close();
  }
}

function expectRefused(rpc: string, answer: Answer, code: ErrorCode, says: RegExp): void {
  const streaming = rpcs.get(rpc)!.methodKind === "server_streaming";
  expect(answer.error, "an error, not an answer").toMatchObject({ code, message: expect.stringMatching(says) });
  // A refusal says what to fix; it does not echo a huge input back.
  expect(answer.error!.message!.length).toBeLessThan(500);
  expect(answer.status).toBe(streaming ? 200 : httpStatus[code]);
  expect(answer.contentType).toBe(streaming ? "application/connect+json" : "application/json");
}

beforeAll(async () => {
  t = await startTestCoordinator({
    readMaxBytes,
    // Nothing may fall due while the cases run: the database must change only by their hand.
    acceptTimeoutMs: 600_000,
    leaseMs: 600_000,
    matchTimeoutMs: 600_000,
    retryBackoffMs: 0,
  });
  fixtures = await buildFixtures(t);
});

afterAll(() => t?.close());

describe("bad input changes nothing and says what to fix", () => {
  const cases = [...rpcs.keys()].flatMap((rpc) =>
    [...(badInputs[rpc] ?? []), ...unreadable].map(([input, code, says, body, as]) =>
      [`${rpc} refuses ${input} with ${code}`, { rpc, code, says, body, as }] as const
    )
  );

  it("has cases of its own for every RPC of every service", () => {
    expect(Object.keys(badInputs).sort()).toEqual([...rpcs.keys()].sort());
  });

  it.for(cases)("%s", async ([, { rpc, code, says, body, as }]) => {
    const before = await snapshotDatabase(t.dbPath);
    expectRefused(rpc, await call(rpc, body(fixtures), "application/json", as?.(fixtures)), code, says);
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  const unary = [...rpcs.values()].filter((m) => m.methodKind === "unary").map((m) => m.name);

  it.for(unary)("%s refuses a body over readMaxBytes with resource_exhausted", async (rpc) => {
    const before = await snapshotDatabase(t.dbPath);
    // A well-formed empty message padded with whitespace: only its size is wrong.
    const answer = await call(rpc, `{}${" ".repeat(readMaxBytes)}`);
    // Each RPC has its own limit, within --read-max-bytes (see body_limits.ts).
    const limit = bodyLimit(rpcs.get(rpc)!, readMaxBytes);
    expectRefused(rpc, answer, "resource_exhausted", new RegExp(`larger than configured readMaxBytes ${limit}$`));
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("WatchJob refuses an envelope over readMaxBytes, and its connection still answers or closes", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const body = envelope(`{}${" ".repeat(readMaxBytes)}`);
    const res = await sendAlone(
      `POST /tether.v1.JobService/WatchJob HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${t.tokens.client}\r\n` +
        `content-type: application/connect+json\r\ncontent-length: ${body.length}\r\n\r\n`,
      body,
    );
    const end = frameJson<EndStream>(splitFrames(res.body).at(-1)!);
    const answer = { status: res.status, contentType: res.headers["content-type"]!, error: end.error };
    expectRefused("WatchJob", answer, "resource_exhausted", /larger than configured readMaxBytes/);
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("CreateJob refuses a chunked body over readMaxBytes, and its connection still answers or closes", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
    const padding = Array<string>(Math.ceil(readMaxBytes / 65_536) + 1).fill(chunk(" ".repeat(65_536)));
    const res = await sendAlone(
      `POST /tether.v1.JobService/CreateJob HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${t.tokens.client}\r\n` +
        "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
      chunk(jobBody()),
      ...padding,
      "0\r\n\r\n",
    );
    const error = JSON.parse(res.body.toString()) as Answer["error"];
    const answer = { status: res.status, contentType: res.headers["content-type"]!, error };
    expectRefused("CreateJob", answer, "resource_exhausted", /larger than configured readMaxBytes/);
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it("CreateJob refuses a binary body that is not a CreateJobRequest, changing nothing", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const answer = await call("CreateJob", new Uint8Array([0xff, 0xff, 0xff]), "application/proto");
    // Refused while its entries are counted, before Connect decodes it (see entry_budget.test.ts).
    expectRefused("CreateJob", answer, "invalid_argument", /^the request is not a valid tether\.v1\.CreateJobRequest: /);
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });
});

describe("the NDJSON watch for curl, GET /v1/jobs/<id>/watch", () => {
  it("refuses an id that is not valid percent-encoding with invalid_argument", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const res = await fetch(`${t.url}/v1/jobs/job_%E0%A4%A/watch`, {
      headers: { authorization: `Bearer ${t.tokens.client}` },
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/id/) });
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });
});
