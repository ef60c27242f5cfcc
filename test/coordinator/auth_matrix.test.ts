/**
 * Every door checks who knocks. Each RPC of every service, over Connect
 * JSON, Connect binary and gRPC (and GET where an RPC allows it, and the
 * NDJSON watch), is called with every credential that must not open it:
 * none, a malformed one, an unknown one, a revoked one, an expired one, a
 * launcher credential that a newer registration replaced, a token of each
 * role the RPC does not admit, and another launcher's credential for a job
 * that is not its own. Each is refused with the right code and a message
 * that says what is needed, and the database is exactly what it was.
 */
import { create, type DescMethod, fromJson, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import type { Offer } from "../../gen/tether/v1/launcher_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { type Access, accessTable } from "../../coordinator/auth/access.ts";
import { hashSecret, newApiToken } from "../../coordinator/auth/secrets.ts";
import { createToken } from "../../coordinator/storage/create_token.ts";
import { envelope, frameJson, readFrames, type EndStream, endStreamFlag } from "../support/connect_envelope.ts";
import { type DatabaseSnapshot, snapshotDatabase } from "../support/database_snapshot.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";

const services = [JobService, SessionService, LauncherService, OperatorService];
const methods = services.flatMap((s) => s.methods);

interface Credential {
  readonly name: string;
  /** The Authorization header to send, or none. */
  readonly header: () => string | undefined;
  /** What the credential is, when it is a good one: a role, or a launcher. */
  readonly is?: TokenRole | "launcher";
}

/** What a refusal must say. */
interface Refusal {
  code: Code;
  says: RegExp;
}

let t: TestCoordinator;
let a: LauncherDriver;
let b: LauncherDriver;
let running: Offer;
let secrets: { revoked: string; expired: string; replaced: string };
let h2c: Http2SessionManager;

beforeAll(async () => {
  t = await startTestCoordinator({ acceptTimeoutMs: 600_000, leaseMs: 600_000, matchTimeoutMs: 600_000 });
  a = await LauncherDriver.register(t, { name: "a" });
  b = await LauncherDriver.register(t, { name: "b" });
  await t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" });
  running = await a.nextOffer();
  await a.accept(running);
  const revoked = await t.operator.createToken({ name: "revoked", role: TokenRole.ADMIN });
  await t.operator.revokeToken({ id: revoked.token!.id });
  // An admin token that expired a minute ago, stored as CreateToken would have stored it.
  const expired = newApiToken();
  const db = t.coordinator.engine.db;
  await createToken(db, { name: "expired", role: TokenRole.ADMIN, secretHash: hashSecret(expired), expireTime: Date.now() - 60_000 }, Date.now() - 120_000);
  // Launcher "c" registered twice: the first instance's credential was replaced.
  const first = await LauncherDriver.register(t, { name: "c" });
  const replaced = first.credential;
  await new LauncherDriver(t, { name: "c" }).register();
  secrets = { revoked: revoked.secret, expired, replaced };
  h2c = new Http2SessionManager(t.url);
});

afterAll(async () => {
  h2c?.abort();
  await t?.close();
});

const bearer = (secret: string) => () => `Bearer ${secret}`;
const refusedToAll: Credential[] = [
  { name: "no token", header: () => undefined },
  { name: "a malformed header", header: () => "Basic dXNlcjpwYXNz" },
  { name: "a malformed token", header: () => "Bearer not-a-tether-token" },
  { name: "an unknown token", header: () => `Bearer ${newApiToken()}` },
  { name: "a revoked token", header: () => bearer(secrets.revoked)() },
  { name: "an expired token", header: () => bearer(secrets.expired)() },
  { name: "a replaced launcher credential", header: () => bearer(secrets.replaced)() },
];
const good: Credential[] = [
  { name: "an admin token", header: () => bearer(t.tokens.admin)(), is: TokenRole.ADMIN },
  { name: "a client token", header: () => bearer(t.tokens.client)(), is: TokenRole.CLIENT },
  { name: "a registration token", header: () => bearer(t.tokens.registration)(), is: TokenRole.LAUNCHER_REGISTRATION },
  { name: "a launcher credential", header: () => bearer(a.credential)(), is: "launcher" },
];

const unauthenticated: Record<string, RegExp> = {
  "no token": /needs a bearer token: send "Authorization: Bearer <token>"; an admin creates one with `npm run coordinator -- tokens create/,
  "a malformed header": /the Authorization header must read "Bearer <token>"/,
  "a malformed token": /the bearer token is malformed: tether's tokens start with tth_/,
  "an unknown token": /the bearer token is not known to this coordinator/,
  "a revoked token": /the token "revoked" \(tok_\w+\) was revoked; ask an admin for a new one/,
  "an expired token": /the token "expired" \(tok_\w+\) expired at \d{4}-\d\d-\d\dT/,
  "a replaced launcher credential": /this credential of launcher "lnch_\w+" was replaced: instance "[\w-]+" registered at/,
};

function admits(access: Access, credential: Credential): boolean {
  if (access === "launcher") return credential.is === "launcher";
  return typeof credential.is === "number" && access.roles.includes(credential.is);
}

/** Every refusal the matrix expects for one RPC. */
function refusals(method: DescMethod): [Credential, Refusal][] {
  const access = accessTable.get(method.parent)![method.localName]!;
  const what = `${method.parent.name}\\.${method.name}`;
  return [
    ...refusedToAll.map((c): [Credential, Refusal] => [c, { code: Code.Unauthenticated, says: unauthenticated[c.name]! }]),
    ...good.filter((c) => !admits(access, c)).map((c): [Credential, Refusal] => [c, {
      code: Code.PermissionDenied,
      says: access === "launcher"
        ? new RegExp(`${what} needs a launcher credential \\(the one RegisterLauncher returned\\), not a token with role`)
        : new RegExp(`${what} needs a token with role (admin|client|launcher-registration)( or [a-z-]+)*; this is a`),
    }]),
  ];
}

/** A request each RPC would act on, were the credential good: a's running job, a real launcher's id. */
function requestFor(method: DescMethod): Record<string, unknown> {
  const job = { jobId: running.job!.id, fencingToken: running.fencingToken };
  const bodies: Record<string, Record<string, unknown>> = {
    CreateJob: { type: "JOB_TYPE_COMMAND", executor: "echo", projectDir: "/srv/repo" },
    GetJob: { id: running.job!.id },
    CancelJob: { id: running.job!.id },
    WatchJob: { id: running.job!.id },
    GetSession: { id: "ses_x" },
    RegisterLauncher: { name: "intruder", hostname: "h", executors: ["echo"], maxConcurrency: 1, instanceId: "i" },
    PollJobs: { pollId: "p", freeSlots: 1 },
    AcceptJob: job,
    Heartbeat: { runningJobs: [job] },
    AppendJobEvents: { ...job, firstOffset: "0", events: [{ type: "forged" }] },
    FinishJob: { ...job, state: "JOB_STATE_SUCCEEDED", exitCode: 0, result: { result: "FORGED: all tests pass" } },
    DrainLauncher: { launcherId: a.id },
    RemoveLauncher: { launcherId: a.id },
    CreateToken: { name: "sneaky", role: "TOKEN_ROLE_ADMIN" },
    RevokeToken: { id: "tok_x" },
  };
  return bodies[method.name] ?? {};
}

const codeName = (code: Code) => Code[code].replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());

/** Calls over Connect JSON (POST, and GET where allowed) and binary; resolves to the error each answered with. */
async function connectCalls(method: DescMethod, header: string | undefined): Promise<{ code?: string; message?: string }[]> {
  const path = `${t.url}/${method.parent.typeName}/${method.name}`;
  const auth: Record<string, string> = header === undefined ? {} : { authorization: header };
  const json = JSON.stringify(requestFor(method));
  const streaming = method.methodKind === "server_streaming";
  const answers: { code?: string; message?: string }[] = [];
  const unary = async (res: Response) => {
    if (!streaming) return answers.push(await res.json() as { code?: string; message?: string });
    let end: EndStream | undefined;
    for await (const frame of readFrames(res.body!)) if (frame.flags & endStreamFlag) end = frameJson<EndStream>(frame);
    answers.push(end?.error ?? {});
  };
  await unary(await fetch(path, {
    method: "POST",
    headers: { "content-type": streaming ? "application/connect+json" : "application/json", ...auth },
    body: streaming ? envelope(json) : json,
  }));
  const message = create(method.input, {});
  await unary(await fetch(path, {
    method: "POST",
    headers: { "content-type": streaming ? "application/connect+proto" : "application/proto", ...auth },
    body: streaming ? envelope(toBinary(method.input, message)) : new Uint8Array(toBinary(method.input, message)),
  }));
  if (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
    await unary(await fetch(`${path}?encoding=json&message=${encodeURIComponent(json)}`, { headers: auth }));
  }
  return answers;
}

/** The same call over gRPC (h2c), as a generated client makes it. */
async function grpcCall(method: DescMethod, header: string | undefined): Promise<ConnectError> {
  const transport = createGrpcTransport({
    baseUrl: t.url,
    sessionManager: h2c,
    interceptors: [(next) => (req) => {
      if (header !== undefined) req.header.set("authorization", header);
      return next(req);
    }],
  });
  // One client for any method of any service, the method picked by name below: typed as loosely as that is.
  const client = createClient(method.parent, transport) as unknown as Record<string, (...args: unknown[]) => unknown>;
  try {
    const request = fromJson(method.input, requestFor(method) as JsonObject);
    const call = client[method.localName]!(request, { timeoutMs: 5_000 });
    if (method.methodKind === "server_streaming") {
      for await (const _ of call as AsyncIterable<unknown>) { /* refused before any message */ }
    } else await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error(`${method.name} over gRPC was not refused`);
}

describe("every RPC refuses every credential that may not call it", () => {
  it("has an access rule for every RPC of every service, and none for RPCs that do not exist", () => {
    for (const service of services) {
      expect(Object.keys(accessTable.get(service) ?? {}).sort()).toEqual(service.methods.map((m) => m.localName).sort());
    }
    expect([...accessTable.keys()].sort((x, y) => x.typeName.localeCompare(y.typeName)))
      .toEqual([...services].sort((x, y) => x.typeName.localeCompare(y.typeName)));
  });

  it.for(methods.map((m) => [m.name, m] as const))("%s", async ([, method]) => {
    const before: DatabaseSnapshot = await snapshotDatabase(t.dbPath);
    for (const [credential, refusal] of refusals(method)) {
      const header = credential.header();
      for (const answer of await connectCalls(method, header)) {
        expect(answer, `${method.name} with ${credential.name}`).toMatchObject({
          code: codeName(refusal.code),
          message: expect.stringMatching(refusal.says),
        });
      }
      const grpc = await grpcCall(method, header);
      expect([grpc.code, grpc.rawMessage], `${method.name} over gRPC with ${credential.name}`)
        .toEqual([refusal.code, expect.stringMatching(refusal.says)]);
    }
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });

  it.for(["AcceptJob", "AppendJobEvents", "FinishJob"])(
    "%s refuses another launcher's credential for a job that is not its own",
    async (name) => {
      const method = LauncherService.methods.find((m) => m.name === name)!;
      const before = await snapshotDatabase(t.dbPath);
      const [json] = await connectCalls(method, `Bearer ${b.credential}`);
      expect(json).toMatchObject({ code: "permission_denied", message: expect.stringMatching(/is not held by this launcher/) });
      const grpc = await grpcCall(method, `Bearer ${b.credential}`);
      expect(grpc.code).toBe(Code.PermissionDenied);
      expect(await snapshotDatabase(t.dbPath)).toEqual(before);
    },
  );

  it("refuses the NDJSON watch without a client or admin token, and never shows a fencing token", async () => {
    const before = await snapshotDatabase(t.dbPath);
    const url = `${t.url}/v1/jobs/${running.job!.id}/watch`;
    for (const [credential, refusal] of refusals(JobService.method.watchJob)) {
      const header = credential.header();
      const res = await fetch(url, { headers: header === undefined ? {} : { authorization: header } });
      expect(res.status, credential.name).toBe(refusal.code === Code.Unauthenticated ? 401 : 403);
      const body = await res.text();
      expect(JSON.parse(body)).toMatchObject({ code: codeName(refusal.code), message: expect.stringMatching(refusal.says) });
      expect(body).not.toContain(running.fencingToken);
    }
    expect(await snapshotDatabase(t.dbPath)).toEqual(before);
  });
});
