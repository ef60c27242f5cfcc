import type { Job } from "../../../gen/tether/v1/job_pb.ts";
import { describeError, isNotFound, isPermanent, isStaleToken } from "../coordinator/rpc_errors.ts";
import { backoffMs, delay } from "../delay.ts";
import type { Logger } from "../log.ts";
import type { AttemptRpc } from "./attempt_rpc.ts";

/**
 * Confirms an offer with AcceptJob, retrying transient failures. AcceptJob is
 * idempotent, so a retry after a lost answer is safe. The accept deadline
 * (local time, ms) does not end the retries: a call whose answer was lost may
 * have started the attempt, and only the coordinator can tell (it answers with
 * the running job, or refuses an offer that expired), so the launcher asks
 * until it answers; giving up would leave the job RUNNING with no one running
 * it. Resolves with the running job, or undefined when the offer is gone
 * (refused, expired, or the launcher is exiting).
 */
export async function acceptOffer(
  rpc: AttemptRpc,
  options: { jobId: string; deadline: number; signal: AbortSignal; log: Logger },
): Promise<Job | undefined> {
  const { jobId, deadline, signal, log } = options;
  for (let failures = 1;; failures++) {
    const remaining = deadline - Date.now();
    try {
      const job = await rpc.accept({ signal, timeoutMs: Math.max(1_000, remaining) });
      log.info("job accepted", { jobId, attempt: job.attempt, executor: job.executor });
      return job;
    } catch (err) {
      if (signal.aborted) return undefined;
      if (isStaleToken(err) || isNotFound(err) || isPermanent(err)) {
        log.warn("offer refused at AcceptJob", { jobId, error: describeError(err) });
        return undefined;
      }
      const late = remaining <= 0;
      const msg = late
        ? "cannot accept offer past its deadline; asking until the coordinator answers"
        : "cannot accept offer; retrying";
      log.warn(msg, { jobId, failures, error: describeError(err) });
      const backoff = backoffMs(failures, { baseMs: 200, maxMs: 2_000 });
      const waitMs = late ? backoff : Math.min(backoff, remaining);
      // An abort ends the wait early; the loop then sees the signal.
      await delay(waitMs, signal).catch(() => undefined);
    }
  }
}
