import { backoffMs, delay } from "../delay.ts";
import { applyCommands, type LoopContext } from "./loop_context.ts";
import { describeError } from "./rpc_errors.ts";

/**
 * Renews the liveness lease every heartbeat interval the coordinator set,
 * listing the jobs this launcher runs and their tokens, and applies the
 * answer's commands (cancel, stale, drain, deregistered). A failed heartbeat
 * is retried sooner, with jittered backoff capped by the interval, so a
 * short outage does not cost the lease.
 */
export async function heartbeatLoop(context: LoopContext, signal: AbortSignal): Promise<void> {
  const { client, log, jobs } = context;
  let failures = 0;
  while (!signal.aborted) {
    const registration = await context.registration();
    if (!registration || signal.aborted) return;
    const waitMs = failures === 0
      ? registration.heartbeatIntervalMs
      : Math.min(registration.heartbeatIntervalMs, backoffMs(failures, { baseMs: 100, maxMs: 5_000 }));
    try {
      await delay(waitMs, signal);
    } catch {
      return;
    }
    if (await context.registration() !== registration) continue;
    try {
      const response = await client.heartbeat({ runningJobs: jobs.runningJobs() }, {
        signal,
        timeoutMs: Math.max(1_000, registration.leaseMs - registration.heartbeatIntervalMs),
      });
      failures = 0;
      applyCommands(context, registration, response);
    } catch (err) {
      if (signal.aborted) return;
      failures += 1;
      log.warn("heartbeat failed; retrying", { failures, error: describeError(err) });
    }
  }
}
