import type { Coordinator } from "../../coordinator/app.ts";

/**
 * Resolves once exactly `count` polls are held by the coordinator (woken by
 * the dispatcher itself, not by re-checking), or fails naming `what`.
 */
export async function heldPolls(coordinator: Coordinator, count: number, what: string, timeoutMs = 10_000) {
  const signal = AbortSignal.timeout(timeoutMs);
  await coordinator.engine.dispatcher.whenSize((n) => n === count, signal).catch(() => {
    throw new Error(`timed out waiting for ${what} (${coordinator.engine.dispatcher.size} polls held, not ${count})`);
  });
}
