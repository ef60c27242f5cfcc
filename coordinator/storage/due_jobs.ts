import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { coordinatorFailure } from "../domain/attempt_end.ts";
import { expiryOf } from "../domain/expiry.ts";
import { registeredStates } from "../domain/launcher_slots.ts";
import { launcherMatches } from "../domain/matching.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { stopRunningJob } from "./cancel_job.ts";
import { type Written, written } from "./changes.ts";
import { forUpdate } from "./db/dialect.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction, type Tx } from "./db/transaction.ts";
import { endAttempt } from "./end_attempt.ts";
import { jobRequirements, launcherTraits } from "./traits.ts";

/** Due rows handled per transaction. */
const batch = 500;

/**
 * Acts on every job whose deadline has passed, as expiryOf says for its
 * state. Each row changes only if it is still as it was read. The changes
 * are the state changes; the value says whether another batch is due.
 */
export function expireDueJobs(db: Db, policy: RetryPolicy, now: number): Promise<Written<{ more: boolean }>> {
  return inTransaction(db, async (tx) => {
    // Another coordinator may be working through the same due rows: skip the ones it holds.
    const due = await forUpdate(
      tx,
      tx.selectFrom("jobs").selectAll().where("deadline_at", "<=", now).orderBy("deadline_at").limit(batch),
      { skipLocked: true },
    ).execute();
    const jobs: JobRow[] = [];
    const queued = due.filter((j) => j.state === JobState.QUEUED);
    const unmatched = queued.length > 0 ? await unmatchedJobs(tx, queued, now) : new Set<string>();
    for (const job of due) {
      const changed = await expire(tx, job, !unmatched.has(job.id), policy, now);
      if (changed && changed.state !== job.state) jobs.push(changed);
    }
    return written({ more: due.length === batch }, { jobs });
  });
}

async function expire(tx: Tx, job: JobRow, matched: boolean, policy: RetryPolicy, now: number) {
  const current = tx.updateTable("jobs").where("id", "=", job.id).where("epoch", "=", job.epoch)
    .where("state", "=", job.state);
  switch (expiryOf(job.state, matched)) {
    case "requeue-offer":
      return await current.set({
        state: JobState.QUEUED,
        offer_poll_id: null,
        failure_reason: FailureReason.OFFER_EXPIRED,
        error: `offer to launcher "${job.launcher_id}" expired before it was accepted`,
        deadline_at: now + job.match_timeout_ms,
        update_time: now,
      }).returningAll().executeTakeFirst();
    case "stop-for-timeout":
      return await stopRunningJob(tx, job, FailureReason.TIMEOUT, now);
    case "end-retry-wait":
      return await current.set({ state: JobState.QUEUED, deadline_at: now + job.match_timeout_ms, update_time: now })
        .returningAll().executeTakeFirst();
    case "wait-again":
      return await current.set({ deadline_at: now + job.match_timeout_ms }).returningAll().executeTakeFirst();
    case "fail-unmatched": {
      const why = `no live launcher matched the job within its match timeout of ${job.match_timeout_ms}ms`;
      return await endAttempt(tx, job, coordinatorFailure(FailureReason.NO_MATCHING_LAUNCHER, why), {
        ...policy,
        now,
        revoke: true,
      });
    }
    case "clear":
      return await current.set({ deadline_at: null }).returningAll().executeTakeFirst();
  }
}

/** The queued jobs that no live launcher could run, whatever its load. */
async function unmatchedJobs(tx: Tx, jobs: JobRow[], now: number): Promise<Set<string>> {
  const live = (await tx.selectFrom("launchers").selectAll().where("state", "=", LauncherState.ONLINE)
    .where("lease_expires_at", ">", now).execute()).map(launcherTraits);
  const requirements = await jobRequirements(tx, jobs);
  return new Set(jobs.filter((j) => !live.some((l) => launcherMatches(l, requirements.get(j.id)!))).map((j) => j.id));
}

/** The earliest moment anything is due: a job deadline or a launcher lease. */
export async function nextDeadline(db: Db): Promise<number | null> {
  const job = await db.selectFrom("jobs").select((eb) => eb.fn.min("deadline_at").as("at"))
    .where("deadline_at", "is not", null).executeTakeFirst();
  const lease = await db.selectFrom("launchers").select((eb) => eb.fn.min("lease_expires_at").as("at"))
    .where("state", "in", registeredStates).executeTakeFirst();
  const times = [job?.at, lease?.at].filter((t): t is number => t !== null && t !== undefined).map(Number);
  return times.length > 0 ? Math.min(...times) : null;
}
