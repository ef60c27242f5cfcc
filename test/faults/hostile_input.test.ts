import fc from "fast-check";
import type { DescMessage, DescMethod } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../gen/tether/v1/job_service_pb.ts";
import { LauncherService } from "../../gen/tether/v1/launcher_service_pb.ts";
import { SessionService } from "../../gen/tether/v1/session_pb.ts";
import { type DatabaseSnapshot, snapshotDatabase } from "../support/database_snapshot.ts";
import { startTestCoordinator, type TestCoordinator } from "../support/test_coordinator.ts";
import { recordFigures } from "./figures.ts";

const long = process.env.TETHER_FAULTS === "long";
const runsPerMethod = long ? 400 : 25;

const unaryMethods: DescMethod[] = [JobService, SessionService, LauncherService]
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
  const shaped = fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 10 })), hostileValue, {
    maxKeys: 6,
  }).map((o) => JSON.stringify(o));
  const anyJson = fc.json({ maxDepth: 4 });
  const broken = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("{", "[", '{"a":', "null", "\"\"", "{}{}"));
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 2, arbitrary: anyJson }, { weight: 1, arbitrary: broken });
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
  beforeAll(async () => {
    t = await startTestCoordinator({ readMaxBytes: 1024 * 1024 });
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

  async function send(method: DescMethod, body: string | Uint8Array, contentType: string): Promise<Answer> {
    sent++;
    const res = await fetch(`${t.url}/${method.parent.typeName}/${method.name}`, {
      method: "POST",
      headers: { "content-type": contentType },
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
      await fc.assert(
        fc.asyncProperty(hostileBody(method.input), async (body) => {
          await checkAnswer(method, await send(method, body, "application/json"));
        }),
        { numRuns: runsPerMethod },
      );
    });

    it(`${method.name} answers random binary bodies without crashing or changing state`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, asJson) => {
          const answer = await send(method, bytes, asJson ? "application/json" : "application/proto");
          await checkAnswer(method, answer, !asJson);
        }),
        { numRuns: Math.ceil(runsPerMethod / 2) },
      );
    });
  }

  it("is still healthy afterwards", async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
