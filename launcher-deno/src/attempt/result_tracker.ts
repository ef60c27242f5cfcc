import type { JobEventData } from "../executors/ndjson.ts";

/**
 * Watches an attempt's events for what the job record needs: the executor's
 * own session id (Claude's `system`/`init` line) and the final `result` event.
 */
export class ResultTracker {
  #executorSessionId: string | undefined;
  #result: JobEventData | undefined;

  constructor(executorSessionId?: string) {
    this.#executorSessionId = executorSessionId || undefined;
  }

  /** Records what `event` says; returns true when it changed the session id. */
  observe(event: JobEventData): boolean {
    const before = this.#executorSessionId;
    if (event.type === "system" && event.subtype === "init" && typeof event.session_id === "string") {
      this.#executorSessionId = event.session_id;
    }
    if (event.type === "result") {
      this.#result = event;
      if (typeof event.session_id === "string" && event.session_id !== "") this.#executorSessionId = event.session_id;
    }
    return this.#executorSessionId !== before;
  }

  get executorSessionId(): string | undefined {
    return this.#executorSessionId;
  }

  /** The last `{"type":"result"}` event, if the executor wrote one. */
  get result(): JobEventData | undefined {
    return this.#result;
  }
}
