import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { DescMessage, DescMethod } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { OperatorService } from "../../gen/tether/v1/operator_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { TokenRole } from "../../gen/tether/v1/token_pb.ts";
import { accessTable } from "../../coordinator/auth/access.ts";
import { type DatabaseSnapshot, snapshotDatabase } from "../support/database_snapshot.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { recordFigures } from "./figures.ts";

const long = process.env.TETHER_FAULTS === "long";
const runsPerMethod = long ? 400 : 25;

const unaryMethods: DescMethod[] = [JobService, SessionService, LauncherService, OperatorService]
  .flatMap((s) => s.methods)
  .filter((m) => m.methodKind === "unary");

/** Values of every JSON shape, including the hostile ones: huge, deep, odd numbers and odd unicode. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme-composite", maxLength: 50 }),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.constantFrom("\u0000", "\ud800", "\uffff", "🧨".repeat(1000), "x".repeat(300_000), "JOB_STATE_RUNNING", "-1", "1e400"),
  fc.integer(),
  fc.constantFrom(-1, 0, 99, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_VALUE, 1e-300),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 4 }),
  fc.integer({ min: 1, max: 200 }).map((depth) => {
    let v: unknown = "bottom";
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  }),
);

/** A request body: the method's own field names with hostile values, or any JSON at all. */
function hostileBody(input: DescMessage): fc.Arbitrary<string> {
  const names = input.fields.map((f) => f.jsonName);
  // DeregisterLauncherRequest has no fields left: the caller is the credential's launcher.
  const anyKey = fc.string({ maxLength: 10 });
  const key = names.length > 0 ? fc.oneof(fc.constantFrom(...names), anyKey) : anyKey;
  const shaped = fc.dictionary(key, hostileValue, {
    maxKeys: 6,
  }).map((o) => JSON.stringify(o));
  const anyJson = fc.json({ maxDepth: 4 });
  const broken = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("{", "[", '{"a":', "null", "\"\"", "{}{}"));
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 2, arbitrary: anyJson }, { weight: 1, arbitrary: broken });
}

/** Authorization headers that must not open any door: none of them holds a credential the coordinator issued. */
function hostileAuthorization(launcherId: () => string): fc.Arbitrary<string> {
  const printable = fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 80 })
    .map((codes) => String.fromCharCode(...codes));
  const secret = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);
  return fc.oneof(
    fc.constantFrom("", "Bearer", "Bearer ", "bearer tth_", "Basic dGV0aGVyOnRldGhlcg==", "Bearer tth_ thl_"),
    printable,
    printable.map((text) => `Bearer ${text}`),
    // Well-formed secrets that were never issued, among them one naming a real launcher.
    secret.map((s) => `Bearer tth_${s}`),
    secret.map((s) => `Bearer thl_lnch_${"0".repeat(20)}.${s}`),
    secret.map((s) => `Bearer thl_${launcherId()}.${s}`),
  );
}

interface Answer {
  status: number;
  body: { code?: string; message?: string };
}

describe("hostile input to every RPC", () => {
  let t: TestCoordinator;
  let snapshot: DatabaseSnapshot;
  let sent = 0;
  let refused = 0;
  /** The launcher whose credential the launcher's own RPCs are fuzzed with; a fresh one for each of them. */
  let launcher: LauncherDriver;
  beforeAll(async () => {
    // Short holds, so that an accepted poll answers at once; leases so long that neither a lapse nor the
    // batched renewal of an idle heartbeat (every (lease - interval) / 4) writes while the fuzzing runs.
    t = await startTestCoordinator({
      readMaxBytes: 1024 * 1024,
      pollHoldMs: 50,
      heartbeatIntervalMs: 3_600_000,
      leaseMs: 4 * 3_600_000,
    });
    launcher = await registerFuzzLauncher();
    snapshot = await snapshotDatabase(t.dbPath);
  });
  afterAll(async () => {
    recordFigures("7. Hostile input (fuzzed JSON and binary bodies)", {
      jobs: 0,
      faults: sent,
      lost: 0,
      doubled: 0,
      stuck: 0,
      note: `${refused} refused with a Connect error and no state change`,
    });
    await t.close();
  });

  /** A new launcher offering an executor no fuzzed job can name, so no fuzzed poll takes a job that then times out. */
  function registerFuzzLauncher(): Promise<LauncherDriver> {
    const suffix = randomUUID().slice(0, 8);
    return LauncherDriver.register(t, { name: `fuzz-${suffix}`, executors: [`fuzz-only-${suffix}`] });
  }

  /**
   * A bearer token the access table lets into `method` (the least-privileged role it admits, or the
   * launcher's credential), so that the fuzzing reaches the handler rather than stopping at the door.
   */
  function authorizationFor(method: DescMethod): string {
    const access = accessTable.get(method.parent)?.[method.localName];
    if (access === undefined) throw new Error(`${method.parent.name}.${method.name} has no line in the access table`);
    if (access === "launcher") return `Bearer ${launcher.credential}`;
    const byRole = new Map([
      [TokenRole.CLIENT, t.tokens.client],
      [TokenRole.LAUNCHER_REGISTRATION, t.tokens.registration],
      [TokenRole.ADMIN, t.tokens.admin],
    ]);
    return `Bearer ${byRole.get(access.roles.find((r) => r !== TokenRole.ADMIN) ?? TokenRole.ADMIN)}`;
  }

  /** Before a launcher RPC's runs: a launcher of its own, since an earlier DeregisterLauncher may have ended the last. */
  async function freshLauncherFor(method: DescMethod): Promise<void> {
    if (accessTable.get(method.parent)?.[method.localName] !== "launcher") return;
    launcher = await registerFuzzLauncher();
    snapshot = await snapshotDatabase(t.dbPath);
  }

  async function send(
    method: DescMethod,
    body: string | Uint8Array,
    contentType: string,
    authorization = authorizationFor(method),
  ): Promise<Answer> {
    sent++;
    const res = await fetch(`${t.url}/${method.parent.typeName}/${method.name}`, {
      method: "POST",
      headers: { "content-type": contentType, authorization },
      body: body as BodyInit,
    });
    const text = await res.text();
    let parsed: Answer["body"] = {};
    try {
      parsed = JSON.parse(text) as Answer["body"];
    } catch {
      parsed = { message: text };
    }
    return { status: res.status, body: parsed };
  }

  /** An error changes nothing; an accepted request may (then the snapshot moves on). */
  async function checkAnswer(method: DescMethod, answer: Answer, allowBinaryParse = false): Promise<void> {
    const after = await snapshotDatabase(t.dbPath);
    if (answer.status === 200) {
      snapshot = after;
      return;
    }
    refused++;
    expect(answer.body.code, `${method.name}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBeTypeOf("string");
    if (allowBinaryParse && answer.status === 500) {
      // connect-es decodes binary bodies before our code runs and calls a bad one "internal".
      expect(answer.body.message).toMatch(/^parse binary/);
    } else {
      expect(answer.status, `${method.name}: ${JSON.stringify(answer.body).slice(0, 300)}`).toBeLessThan(500);
    }
    expect(after).toEqual(snapshot);
  }

  for (const method of unaryMethods) {
    it(`${method.name} answers hostile JSON with a Connect error and no state change`, async () => {
      await freshLauncherFor(method);
      await fc.assert(
        fc.asyncProperty(hostileBody(method.input), async (body) => {
          const answer = await send(method, body, "application/json");
          expect(answer.body.code, `${method.name}: the fuzzing stopped at the door`).not.toBe("unauthenticated");
          await checkAnswer(method, answer);
        }),
        { numRuns: runsPerMethod },
      );
    });

    it(`${method.name} answers random binary bodies without crashing or changing state`, async () => {
      await freshLauncherFor(method);
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, asJson) => {
          const answer = await send(method, bytes, asJson ? "application/json" : "application/proto");
          await checkAnswer(method, answer, !asJson);
        }),
        { numRuns: Math.ceil(runsPerMethod / 2) },
      );
    });
  }

  it("turns hostile Authorization headers away with UNAUTHENTICATED and no state change, on every RPC", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...unaryMethods), hostileAuthorization(() => launcher.id), async (method, header) => {
        // `{}` parses for every RPC: the header is the only thing wrong.
        const answer = await send(method, "{}", "application/json", header);
        expect(answer.status, `${method.name} with ${JSON.stringify(header)}: ${JSON.stringify(answer.body)}`).toBe(401);
        expect(answer.body.code).toBe("unauthenticated");
        await checkAnswer(method, answer);
      }),
      { numRuns: runsPerMethod * 4 },
    );
  });

  it("is still healthy afterwards", async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
