import { ConnectError } from "@connectrpc/connect";
import { EventOffsetMismatchSchema } from "../../../gen/tether/v1/launcher_service_pb.ts";
import { describeError, isNotFound, isPermanent, isStaleToken } from "../coordinator/rpc_errors.ts";
import { backoffMs, delay } from "../delay.ts";
import type { JobEventData } from "../executors/ndjson.ts";

/** Appends `events` at `firstOffset`; resolves with the offset the next event must have. */
export type SendEvents = (firstOffset: bigint, events: JobEventData[], signal: AbortSignal) => Promise<bigint>;

export interface UploaderOptions {
  readonly signal: AbortSignal;
  /** Called once when a report is refused for a stale token. */
  readonly onStale: (err: unknown) => void;
  /** Called for each failed send that will be retried. */
  readonly onRetry: (err: unknown, failures: number) => void;
  readonly maxBatchEvents?: number;
  readonly maxBatchBytes?: number;
  /** Entries (object keys and array elements) per batch; see `batchEntries`. */
  readonly maxBatchEntries?: number;
  readonly retry?: { baseMs: number; maxMs: number };
}

/** The coordinator refused this attempt's reports: its token is stale. */
export class StaleTokenError extends Error {
  override name = "StaleTokenError";
}

/**
 * Sends one attempt's events in order, in batches, with offsets. While one
 * batch is in flight the next accumulates, so batching follows the
 * coordinator's pace without a timer. An OUT_OF_RANGE answer carries the
 * offset the coordinator expects, and sending resumes from there; nothing is
 * dropped or doubled. Transient failures are retried with backoff.
 */
export class EventUploader {
  #pending: JobEventData[] = [];
  #acked: bigint;
  #sending: Promise<void> | undefined;
  #failure: Error | undefined;
  readonly #send: SendEvents;
  readonly #options: UploaderOptions;

  constructor(send: SendEvents, firstOffset: bigint, options: UploaderOptions) {
    this.#send = send;
    this.#acked = firstOffset;
    this.#options = options;
  }

  /** Queues one event; it is sent with the next batch. */
  push(event: JobEventData): void {
    if (this.#failure) return;
    this.#pending.push(event);
    this.#sending ??= this.#run().finally(() => (this.#sending = undefined));
  }

  /** Resolves once every pushed event is stored; rejects if sending failed for good. */
  async flush(): Promise<void> {
    while (this.#sending) await this.#sending;
    if (this.#failure) throw this.#failure;
  }

  /** The offset after the last stored event. */
  get nextOffset(): bigint {
    return this.#acked;
  }

  async #run(): Promise<void> {
    let failures = 0;
    // After a refused batch, events go one at a time to find the refused one.
    let single = false;
    while (this.#pending.length > 0 && !this.#failure) {
      const batch = single ? this.#pending.slice(0, 1) : this.#takeBatch();
      try {
        const next = await this.#send(this.#acked, batch, this.#options.signal);
        this.#advance(next, "the coordinator acknowledged");
        failures = 0;
      } catch (err) {
        if (this.#options.signal.aborted) {
          this.#failure = new Error("Event upload was stopped before every event was stored");
        } else if (isStaleToken(err) || isNotFound(err)) {
          this.#failure = new StaleTokenError(`Events were refused: ${describeError(err)}`);
          this.#options.onStale(err);
        } else if (err instanceof ConnectError && err.findDetails(EventOffsetMismatchSchema)[0]) {
          this.#advance(err.findDetails(EventOffsetMismatchSchema)[0]!.expectedOffset, "the coordinator expects");
          if (++failures > 5) this.#failure = new Error(`Event offsets keep disagreeing: ${describeError(err)}`);
        } else if (isPermanent(err) && batch.length > 1) {
          single = true;
        } else if (isPermanent(err) && batch[0]?.type !== "refused") {
          // One event the coordinator will not store (too large, too deep):
          // its place in the log says so instead, and the log goes on.
          this.#pending[0] = { type: "refused", original_type: batch[0]?.type ?? null, reason: describeError(err) };
        } else if (isPermanent(err)) {
          this.#failure = new Error(`Events from offset ${this.#acked} were refused: ${describeError(err)}`);
        } else {
          failures += 1;
          this.#options.onRetry(err, failures);
          await delay(backoffMs(failures, this.#options.retry ?? { baseMs: 200, maxMs: 10_000 }), this.#options.signal)
            .catch(() => undefined);
        }
      }
    }
  }

  /** Moves the stored mark to `offset`, dropping the events now stored. */
  #advance(offset: bigint, who: string): void {
    const stored = Number(offset - this.#acked);
    if (stored < 0 || stored > this.#pending.length) {
      this.#failure = new Error(
        `Cannot continue the event log: ${who} offset ${offset}, but this attempt's unsent events span ` +
          `${this.#acked} to ${this.#acked + BigInt(this.#pending.length)}`,
      );
      return;
    }
    this.#pending.splice(0, stored);
    this.#acked = offset;
  }

  #takeBatch(): JobEventData[] {
    const maxEvents = this.#options.maxBatchEvents ?? 1000;
    const maxBytes = this.#options.maxBatchBytes ?? 1024 * 1024;
    const maxEntries = this.#options.maxBatchEntries ?? batchEntries;
    const batch: JobEventData[] = [];
    let bytes = 0;
    let entries = 0;
    for (const event of this.#pending) {
      const size = JSON.stringify(event).length;
      // An event is an entry of the batch's list, and holds its own.
      const count = 1 + entriesOf(event);
      const full = batch.length >= maxEvents || bytes + size > maxBytes || entries + count > maxEntries;
      if (batch.length > 0 && full) break;
      batch.push(event);
      bytes += size;
      entries += count;
    }
    return batch;
  }
}

/**
 * The entries a batch's events may hold: the coordinator's default
 * --max-request-entries (5,000 object keys and array elements per request),
 * less room for the request's own fields. Under a coordinator set lower,
 * refused batches are sent again one event at a time.
 */
export const batchEntries = 5_000 - 16;

/** Every object key and array element in `value`, at any depth, as the coordinator counts them. */
export function entriesOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let n = children.length;
  for (const child of children) n += entriesOf(child);
  return n;
}
