import type { JobEventData } from "../executors/ndjson.ts";

/**
 * Bounds one attempt's events to `maxBytes` of output. Past the bound it
 * emits one truncation marker and drops later events, except the final
 * `result` event, which is always kept because the job's outcome needs it.
 */
export class OutputBound {
  #used = 0;
  #dropped = 0;
  #truncated = false;

  constructor(readonly maxBytes: number) {}

  /** The events to append for one event that took `bytes` of output. */
  admit(event: JobEventData, bytes: number): JobEventData[] {
    if (!this.#truncated && this.#used + bytes <= this.maxBytes) {
      this.#used += bytes;
      return [event];
    }
    const admitted: JobEventData[] = [];
    if (!this.#truncated) {
      this.#truncated = true;
      admitted.push({
        type: "truncated",
        limitBytes: this.maxBytes,
        message: `output passed the launcher's limit of ${this.maxBytes} bytes; ` +
          "later events are dropped except the final result",
      });
    }
    if (event.type === "result") admitted.push(event);
    else this.#dropped += 1;
    return admitted;
  }

  /** Whether the bound was reached. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** How many events were dropped past the bound. */
  get dropped(): number {
    return this.#dropped;
  }
}
