import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { coordinatorFailure } from "../domain/attempt_end.ts";
import { heldStates } from "../domain/job_states.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { forUpdate } from "./db/dialect.ts";
import type { JobRow } from "./db/rows.ts";
import type { Tx } from "./db/transaction.ts";
import { endAttempt } from "./end_attempt.ts";
import { releaseOffers } from "./release_offers.ts";

/**
 * Takes every job away from a launcher that is gone: offers go back to the
 * queue, running attempts end LAUNCHER_LOST (and are retried per policy).
 */
export async function endLauncherJobs(
  tx: Tx,
  id: string,
  why: string,
  policy: RetryPolicy & { retryNotBefore?: number },
  now: number,
): Promise<JobRow[]> {
  const held = await forUpdate(
    tx,
    tx.selectFrom("jobs").selectAll().where("launcher_id", "=", id).where("state", "in", heldStates),
  ).execute();
  const changed = await releaseOffers(tx, held.filter((j) => j.state === JobState.OFFERED), now, {
    reason: FailureReason.LAUNCHER_LOST,
    error: `${why} before it accepted the offer`,
  });
  for (const job of held.filter((j) => j.state !== JobState.OFFERED)) {
    const lost = coordinatorFailure(FailureReason.LAUNCHER_LOST, `${why} during attempt ${job.attempt}`);
    changed.push(await endAttempt(tx, job, lost, { ...policy, now, revoke: true }));
  }
  return changed;
}
