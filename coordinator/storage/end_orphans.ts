import { FailureReason } from "../../gen/tether/v1/job_pb.ts";
import { coordinatorFailure } from "../domain/attempt_end.ts";
import { type HeldAttempt } from "../domain/orphans.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import { inTransaction } from "./db/transaction.ts";
import { endAttempt } from "./end_attempt.ts";
import { loadJobForUpdate } from "./load_job.ts";

/** Ends attempts their launcher no longer runs LAUNCHER_LOST (retried per policy), unless they moved on meanwhile. */
export async function endOrphans(
  db: Db,
  orphans: readonly HeldAttempt[],
  policy: RetryPolicy,
  now: number,
): Promise<Written<void>> {
  if (orphans.length === 0) return written(undefined);
  const jobs = await inTransaction(db, async (tx) => {
    const ended = [];
    for (const orphan of orphans) {
      const job = await loadJobForUpdate(tx, orphan.id);
      if (job.launcher_id !== orphan.launcher_id || job.epoch !== orphan.epoch || job.state !== orphan.state) continue;
      const why = `launcher "${orphan.launcher_id}" no longer runs attempt ${job.attempt} (not in its heartbeat)`;
      ended.push(await endAttempt(tx, job, coordinatorFailure(FailureReason.LAUNCHER_LOST, why), {
        ...policy,
        now,
        revoke: true,
      }));
    }
    return ended;
  });
  return written(undefined, { jobs });
}
