import type { Readable } from "node:stream";

/** One JSON log line as a process printed it. */
export type LogLine = Record<string, unknown>;

/**
 * Collects the JSON lines a child process prints and lets a test wait for
 * one that matches, event-driven: each new line is checked as it arrives.
 * Lines that are not JSON are kept as {"text": ...}.
 */
export class JsonLines {
  readonly lines: LogLine[] = [];
  readonly #waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  #closed = false;
  readonly #closeWaiters = new Set<() => void>();

  constructor(stream: Readable, readonly name: string) {
    let buffer = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        this.#add(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    stream.on("end", () => {
      if (buffer) this.#add(buffer);
      this.#closed = true;
      for (const wake of this.#closeWaiters) wake();
    });
  }

  /**
   * Resolves with the first line (already seen or still to come) that
   * matches. Rejects when the stream ends first or after `timeoutMs`, a
   * guard against a hung test, not a measure of speed.
   */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          cleanup();
          resolve(line);
        },
      };
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
        this.#waiters.delete(waiter);
        this.#closeWaiters.delete(onClose);
      };
      this.#waiters.add(waiter);
      if (this.#closed) onClose();
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
    let line: LogLine;
    try {
      const value = JSON.parse(text);
      line = typeof value === "object" && value !== null ? value : { text };
    } catch {
      line = { text };
    }
    this.lines.push(line);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(line)) waiter.resolve(line);
    }
  }
}
