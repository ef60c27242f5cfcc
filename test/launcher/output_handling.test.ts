import { describe, expect, it } from "vitest";
import { lineToEvent, type OutputLine, readLines } from "../../launcher-deno/src/executors/ndjson.ts";
import { OutputBound } from "../../launcher-deno/src/attempt/output_bound.ts";
import { ResultTracker } from "../../launcher-deno/src/attempt/result_tracker.ts";
import { StderrTail } from "../../launcher-deno/src/attempt/stderr_tail.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function lines(stream: ReadableStream<Uint8Array>, max = 1024): Promise<OutputLine[]> {
  const out: OutputLine[] = [];
  for await (const line of readLines(stream, max)) out.push(line);
  return out;
}

describe("reading an executor's stdout", () => {
  it("splits lines across chunk boundaries, drops \\r, and keeps a last line without newline", async () => {
    const got = await lines(streamOf('{"a":', '1}\r\n{"b"', ":2}\n", "tail"));
    expect(got.map((line) => line.text)).toEqual(['{"a":1}', '{"b":2}', "tail"]);
    expect(got.every((line) => !line.cut)).toBe(true);
  });

  it("decodes multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode("héllo\n");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 2));
        controller.enqueue(bytes.slice(2));
        controller.close();
      },
    });
    expect((await lines(stream))[0]?.text).toBe("héllo");
  });

  it("keeps only the start of an overlong line and reports its full size", async () => {
    const [line, next] = await lines(streamOf("x".repeat(10), "y".repeat(10), "\nok\n"), 8);
    expect(line).toEqual({ text: "xxxxxxxx", bytes: 20, cut: true });
    expect(next).toEqual({ text: "ok", bytes: 2, cut: false });
  });

  it("turns JSON objects into events and anything else into log events", () => {
    const line = (text: string): OutputLine => ({ text, bytes: text.length, cut: false });
    expect(lineToEvent(line('{"type":"assistant"}'))).toEqual({ type: "assistant" });
    expect(lineToEvent(line("[1]"))).toEqual({ type: "log", stream: "stdout", text: "[1]" });
    expect(lineToEvent(line("42"))).toEqual({ type: "log", stream: "stdout", text: "42" });
    expect(lineToEvent(line("Compiling..."))).toEqual({ type: "log", stream: "stdout", text: "Compiling..." });
    expect(lineToEvent(line("   "))).toBeUndefined();
    expect(lineToEvent({ text: '{"type":"ass', bytes: 5000, cut: true })).toEqual({
      type: "log",
      stream: "stdout",
      text: '{"type":"ass',
      truncated: true,
      bytes: 5000,
    });
  });
});

describe("bounding output", () => {
  it("admits events up to the bound, then one marker, then only the result", () => {
    const bound = new OutputBound(100);
    expect(bound.admit({ type: "a" }, 60)).toEqual([{ type: "a" }]);
    const past = bound.admit({ type: "b" }, 60);
    expect(past).toHaveLength(1);
    expect(past[0]).toMatchObject({ type: "truncated", limitBytes: 100 });
    expect(bound.admit({ type: "c" }, 1)).toEqual([]);
    expect(bound.admit({ type: "result", result: "done" }, 10)).toEqual([{ type: "result", result: "done" }]);
    expect(bound.dropped).toBe(2);
    expect(bound.truncated).toBe(true);
  });

  it("keeps the last bytes of stderr and says how much came before", () => {
    const tail = new StderrTail(10);
    const encoder = new TextEncoder();
    tail.write(encoder.encode("first line\n"));
    tail.write(encoder.encode("second\n"));
    tail.write(encoder.encode("end\n"));
    expect(tail.text()).toBe("[12 earlier bytes of stderr omitted]\necond\nend");
    expect(new StderrTail(100).text()).toBe("");
  });
});

describe("tracking the executor's session and result", () => {
  it("takes the session id from system/init and the last result event", () => {
    const tracker = new ResultTracker("resumed-id");
    expect(tracker.observe({ type: "assistant" })).toBe(false);
    expect(tracker.observe({ type: "system", subtype: "init", session_id: "abc" })).toBe(true);
    tracker.observe({ type: "result", is_error: false, result: "ok", session_id: "abc" });
    expect(tracker.executorSessionId).toBe("abc");
    expect(tracker.result).toEqual({ type: "result", is_error: false, result: "ok", session_id: "abc" });
  });
});
