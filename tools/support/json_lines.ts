import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** One JSON line as a process printed it (a line that is not a JSON object is kept as {"text": ...}). */
export type LogLine = Record<string, unknown>;

/**
 * Collects the JSON lines a child process prints (its log, or the NDJSON
 * messages of a benchmark load generator), from one stream or several read
 * as one, and lets a caller wait for one that matches, event-driven: each
 * new line is checked as it arrives. Lines that are not JSON objects are kept
 * as {"text": ...}, for failure messages and for tests that read text.
 */
export class JsonLines {
  readonly lines: LogLine[] = [];
  readonly #listeners = new Set<(line: LogLine) => void>();
  readonly #closeWaiters = new Set<() => void>();
  #open: number;

  constructor(streams: Readable | readonly Readable[], readonly name: string) {
    const list = Array.isArray(streams) ? streams : [streams as Readable];
    this.#open = list.length;
    for (const stream of list) {
      createInterface({ input: stream, crlfDelay: Infinity })
        .on("line", (text) => this.#add(text))
        .on("close", () => {
          if (--this.#open > 0) return;
          for (const wake of [...this.#closeWaiters]) wake();
        });
    }
  }

  /** Calls `listener` with every line from now on; returns a function that stops it. */
  on(listener: (line: LogLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the first line (already seen or still to come) that
   * matches. Rejects when every stream ended first or after `timeoutMs`, a
   * guard against a hung caller, not a measure of speed.
   */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const off = this.on((line) => {
        if (!match(line)) return;
        cleanup();
        resolve(line);
      });
      const onClose = () => {
        cleanup();
        reject(new Error(`${this.name} ended before ${what}; its last lines:\n${this.tail()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs}ms; its last lines:\n${this.tail()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        off();
        this.#closeWaiters.delete(onClose);
      };
      if (this.#open === 0) onClose();
      else this.#closeWaiters.add(onClose);
    });
  }

  /** Every line with `msg` equal to `msg`. */
  messages(msg: string): LogLine[] {
    return this.lines.filter((line) => line.msg === msg);
  }

  /** The last lines, for failure messages. */
  tail(count = 25): string {
    return this.lines.slice(-count).map((line) => JSON.stringify(line)).join("\n");
  }

  #add(text: string): void {
    if (text.trim() === "") return;
    let line: LogLine = { text };
    if (text.trimStart().startsWith("{")) {
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value === "object" && value !== null && !Array.isArray(value)) line = value as LogLine;
      } catch {
        // Kept as text.
      }
    }
    this.lines.push(line);
    for (const listener of [...this.#listeners]) listener(line);
  }
}
