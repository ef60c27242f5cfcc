import { backoffMs, delay } from "../delay.ts";
import { applyCommands, type LoopContext } from "./loop_context.ts";
import { describeError } from "./rpc_errors.ts";

/** How far past the advertised hold the client waits before it gives up on a poll. */
const deadlineMarginMs = 5_000;

/**
 * Long-polls for work until `signal` aborts. Each poll declares the free
 * slots and gets offers and commands. A poll whose answer never arrived is
 * retried under the same pollId, so offers made to it are not lost. A poll
 * declared with no free slot is cut short when a slot frees (or draining
 * starts) and retried under its pollId with the new count.
 */
export async function pollLoop(context: LoopContext, signal: AbortSignal): Promise<void> {
  const { client, log, jobs } = context;
  let pollId = crypto.randomUUID();
  let failures = 0;
  while (!signal.aborted) {
    const registration = await context.registration();
    if (!registration || signal.aborted) return;
    const draining = context.draining();
    const freeSlots = draining ? 0 : jobs.freeSlots;
    const wake = new AbortController();
    const unsubscribe = context.onWake(() => {
      const nowDraining = context.draining();
      if (nowDraining !== draining || (!nowDraining && freeSlots === 0 && jobs.freeSlots > 0)) wake.abort();
    });
    try {
      const response = await client.pollJobs({
        pollId,
        freeSlots,
        cancellingJobIds: jobs.cancellingJobIds(),
        draining,
      }, {
        signal: AbortSignal.any([signal, wake.signal]),
        timeoutMs: registration.pollHoldMs + deadlineMarginMs,
      });
      const receivedAt = Date.now();
      pollId = crypto.randomUUID();
      failures = 0;
      applyCommands(context, registration, { ...response, staleJobIds: [] });
      for (const offer of response.offers) {
        if (jobs.get(offer.job?.id ?? "")) {
          log.warn("offer for a job this launcher already holds ignored", { jobId: offer.job?.id });
        } else if (context.draining()) {
          log.info("draining: leaving an offer to expire back to the queue", { jobId: offer.job?.id });
        } else if (jobs.freeSlots === 0) {
          log.warn("offer beyond the declared free slots left to expire", { jobId: offer.job?.id, freeSlots });
        } else {
          context.take(offer, registration, receivedAt);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (wake.signal.aborted) continue;
      failures += 1;
      const waitMs = backoffMs(failures, { baseMs: 250, maxMs: 15_000 });
      log.warn("poll failed; retrying with the same pollId", {
        failures,
        retryInMs: waitMs,
        error: describeError(err),
      });
      await delay(waitMs, signal).catch(() => undefined);
    } finally {
      unsubscribe();
    }
  }
}
