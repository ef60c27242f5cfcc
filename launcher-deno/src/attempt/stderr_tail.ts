import { chunks } from "../executors/ndjson.ts";

/** Keeps the last `maxBytes` bytes written to it, for a failure report. */
export class StderrTail {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #skipped = 0;

  constructor(readonly maxBytes: number) {}

  write(chunk: Uint8Array): void {
    this.#chunks.push(chunk.slice());
    this.#size += chunk.length;
    // Drop whole chunks from the front while the rest still covers the tail.
    for (let first = this.#chunks[0]; first && this.#size - first.length >= this.maxBytes; first = this.#chunks[0]) {
      this.#chunks.shift();
      this.#size -= first.length;
      this.#skipped += first.length;
    }
  }

  /** The kept tail as text, prefixed with how much came before it, if anything. */
  text(): string {
    const joined = new Uint8Array(this.#size);
    let at = 0;
    for (const chunk of this.#chunks) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    const excess = Math.max(0, this.#size - this.maxBytes);
    const text = new TextDecoder().decode(joined.subarray(excess)).trim();
    const skipped = this.#skipped + excess;
    return skipped > 0 ? `[${skipped} earlier bytes of stderr omitted]\n${text}` : text;
  }

  /** Reads `stream` to its end (or until `signal` aborts) into the tail. */
  async drain(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<void> {
    for await (const chunk of chunks(stream, signal)) this.write(chunk);
  }
}
