import { create, type JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JobType } from "../../gen/tether/v1/job_pb.ts";
import { EventOffsetMismatchSchema } from "../../gen/tether/v1/launcher_service_pb.ts";
import { countJsonEntries } from "../../coordinator/api/entry_count.ts";
import {
  batchEntries,
  entriesOf,
  EventUploader,
  StaleTokenError,
} from "../../launcher-deno/src/attempt/event_uploader.ts";
import type { JobEventData } from "../../launcher-deno/src/executors/ndjson.ts";
import { LauncherDriver } from "../support/launcher_driver.ts";
import { startTestCoordinator } from "../support/test_coordinator.ts";

// The uploader's seam is its send function; most of these tests script the
// coordinator's answers through it, and the last sends to a real one.

type Answer = (first: bigint, events: JobEventData[]) => bigint;

function scripted(answers: Answer[]) {
  const calls: { first: bigint; types: unknown[] }[] = [];
  const send = (first: bigint, events: JobEventData[]) => {
    calls.push({ first, types: events.map((e) => e.type) });
    const answer = answers.shift() ?? ((f: bigint, e: JobEventData[]) => f + BigInt(e.length));
    return Promise.resolve().then(() => answer(first, events));
  };
  return { send, calls };
}

const options = (extra: Partial<ConstructorParameters<typeof EventUploader>[2]> = {}) => ({
  signal: new AbortController().signal,
  onStale: () => {},
  onRetry: () => {},
  retry: { baseMs: 1, maxMs: 2 },
  ...extra,
});

const mismatch = (expected: bigint) =>
  new ConnectError("gap", Code.OutOfRange, undefined, [{ desc: EventOffsetMismatchSchema, value: create(EventOffsetMismatchSchema, { expectedOffset: expected }) }]);

describe("uploading events", () => {
  it("sends in order from the attempt's first offset, batching what piles up while a send is in flight", async () => {
    const { send, calls } = scripted([]);
    const uploader = new EventUploader(send, 5n, options());
    for (const type of ["a", "b", "c"]) uploader.push({ type });
    await uploader.flush();
    expect(calls).toEqual([{ first: 5n, types: ["a"] }, { first: 6n, types: ["b", "c"] }]);
    expect(uploader.nextOffset).toBe(8n);
  });

  it("resumes from the offset an OUT_OF_RANGE answer names, without doubling what was stored", async () => {
    const { send, calls } = scripted([
      () => {
        throw new Error("connection reset");
      },
      () => {
        throw mismatch(1n);
      },
    ]);
    const uploader = new EventUploader(send, 0n, options({ maxBatchEvents: 2 }));
    uploader.push({ type: "a" });
    uploader.push({ type: "b" });
    await uploader.flush();
    // The first send failed on the wire; the retry (now with "b" too) was
    // told "a" is already stored, so only "b" went again.
    expect(calls).toEqual([
      { first: 0n, types: ["a"] },
      { first: 0n, types: ["a", "b"] },
      { first: 1n, types: ["b"] },
    ]);
    expect(uploader.nextOffset).toBe(2n);
  });

  it("stops and reports a stale token when the coordinator refuses with FAILED_PRECONDITION", async () => {
    const stale: unknown[] = [];
    const { send } = scripted([() => {
      throw new ConnectError("token superseded", Code.FailedPrecondition);
    }]);
    const uploader = new EventUploader(send, 0n, options({ onStale: (err) => stale.push(err) }));
    uploader.push({ type: "a" });
    await expect(uploader.flush()).rejects.toBeInstanceOf(StaleTokenError);
    expect(stale).toHaveLength(1);
    uploader.push({ type: "b" });
    expect(uploader.nextOffset).toBe(0n);
  });

  it("puts a marker in place of an event the coordinator refuses, and goes on with the rest", async () => {
    const refuse = (first: bigint, events: JobEventData[]) => {
      if (events.some((e) => e.type === "deep")) throw new ConnectError("nests deeper than 32 levels", Code.InvalidArgument);
      return first + BigInt(events.length);
    };
    const { send, calls } = scripted([refuse, refuse, refuse, refuse]);
    const uploader = new EventUploader(send, 0n, options());
    uploader.push({ type: "a" });
    for (const type of ["b", "deep", "c"]) uploader.push({ type });
    await uploader.flush();
    expect(calls.map((call) => call.types)).toEqual([["a"], ["b", "deep", "c"], ["b"], ["deep"], ["refused"], ["c"]]);
    expect(uploader.nextOffset).toBe(4n);
  });

  it("fails loudly when the coordinator expects an offset it had already acknowledged", async () => {
    const { send } = scripted([(f, e) => f + BigInt(e.length), () => {
      throw mismatch(0n);
    }]);
    const uploader = new EventUploader(send, 0n, options());
    uploader.push({ type: "a" });
    await uploader.flush();
    uploader.push({ type: "b" });
    await expect(uploader.flush()).rejects.toThrow("Cannot continue the event log: the coordinator expects offset 0");
  });
});

describe("batches within the coordinator's entry budget", () => {
  it("counts an event's entries as the coordinator counts a request's", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
      const counted = countJsonEntries(Buffer.from(JSON.stringify(value)), Infinity, 1000).entries;
      expect(entriesOf(value)).toBe(counted);
    }));
  });

  it("sends a burst worth four times the budget to a real coordinator in batches it takes, every event stored", async () => {
    const t = await startTestCoordinator();
    try {
      const launcher = await LauncherDriver.register(t);
      await t.jobs.createJob({ type: JobType.COMMAND, executor: "echo", projectDir: "/srv/repo" });
      const offer = await launcher.nextOffer();
      await launcher.accept(offer);
      const sent: number[] = [];
      const send = async (first: bigint, events: JobEventData[]) => {
        sent.push(events.length);
        return (await launcher.append(offer, Number(first), events as JsonObject[])).nextOffset;
      };
      const uploader = new EventUploader(send, 0n, options());
      const events = Array.from({ length: 40 }, (_, seq) => ({ type: "output", seq, lines: new Array(999).fill("x") }));
      expect(events.reduce((n, e) => n + 1 + entriesOf(e), 0)).toBeGreaterThan(4 * batchEntries);
      for (const event of events) uploader.push(event);
      await uploader.flush();
      expect(sent.length).toBeGreaterThanOrEqual(5);
      await launcher.succeed(offer);
      const stored: unknown[] = [];
      // The job has ended: its watch replays every event, then ends.
      for await (const m of t.jobs.watchJob({ id: offer.job!.id }, { signal: AbortSignal.timeout(10_000) })) {
        if (m.kind.case === "event") stored.push(m.kind.value.data?.seq);
      }
      expect(stored).toEqual(events.map((e) => e.seq));
    } finally {
      await t.close();
    }
  });
});
