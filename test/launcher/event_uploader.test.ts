import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EventOffsetMismatchSchema } from "../../gen/tether/v1/launcher_service_pb.ts";
import { EventUploader, StaleTokenError } from "../../launcher-deno/src/attempt/event_uploader.ts";
import type { JobEventData } from "../../launcher-deno/src/executors/ndjson.ts";

// The uploader's seam is its send function; these tests script the
// coordinator's answers through it. The real coordinator is exercised by the
// end-to-end tests.

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
