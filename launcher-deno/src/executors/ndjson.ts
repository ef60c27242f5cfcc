// NDJSON from an executor's stdout: split into lines without ever holding
// more than one bounded line, then turn each line into one event object.

/** One line of output, without its newline. */
export interface OutputLine {
  readonly text: string;
  /** The line's full length in bytes, including any part that was cut off. */
  readonly bytes: number;
  /** Whether the line was longer than the limit and only its start is kept. */
  readonly cut: boolean;
}

/** A JSON object event, as it goes to the coordinator. */
export type JobEventData = { [key: string]: unknown };

/**
 * Yields the lines of `stream`. A line longer than `maxLineBytes` yields its
 * first `maxLineBytes` bytes with `cut: true`; the rest of it is skipped.
 * A last line without a newline is yielded too.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLineBytes: number,
  signal?: AbortSignal,
): AsyncGenerator<OutputLine> {
  const decoder = new TextDecoder();
  let parts: Uint8Array[] = [];
  let kept = 0;
  let total = 0;
  const take = (): OutputLine => {
    const joined = new Uint8Array(kept);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    let text = decoder.decode(joined);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const line = { text, bytes: total, cut: total > kept };
    parts = [];
    kept = 0;
    total = 0;
    return line;
  };
  for await (const chunk of chunks(stream, signal)) {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      const room = maxLineBytes - kept;
      if (room > 0) {
        const piece = chunk.subarray(start, Math.min(end, start + room));
        parts.push(piece.slice());
        kept += piece.length;
      }
      total += end - start;
      if (newline === -1) break;
      yield take();
      start = newline + 1;
    }
  }
  if (total > 0) yield take();
}

/**
 * The event for one stdout line: the line itself when it is a JSON object,
 * else a log event carrying the text. Blank lines yield undefined.
 */
export function lineToEvent(line: OutputLine, stream: "stdout" | "stderr" = "stdout"): JobEventData | undefined {
  if (line.cut) {
    return { type: "log", stream, text: line.text, truncated: true, bytes: line.bytes };
  }
  if (line.text.trim() === "") return undefined;
  try {
    const value = JSON.parse(line.text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // Not JSON: executors may print plain text too, kept as a log event.
  }
  return { type: "log", stream, text: line.text };
}

/** The chunks of `stream`; aborting `signal` cancels the stream and ends them. */
export async function* chunks(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  // Cancelling fails only for a stream that already errored, which read() then reports.
  const cancel = () => void reader.cancel(signal?.reason).catch(() => undefined);
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}
