import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { launcherMatches } from "../domain/matching.ts";
import { stopRunningJob } from "./cancel_job.ts";
import { forUpdate } from "./db/dialect.ts";
import { endAttempt, type RetryPolicy } from "./end_attempt.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { type Changes, inTransaction, type Tx } from "./db/transaction.ts";
import { jobRequirements, launcherTraits } from "./traits.ts";

/**
 * Acts on every job whose deadline has passed, each by its state: an
 * unaccepted offer goes back to the queue; a running attempt past its
 * timeout is stopped; a retry wait ends; a queued job that no live launcher
 * matches fails NO_MATCHING_LAUNCHER (one that a busy launcher matches waits
 * on). Each row changes only if it is still as it was read. The changes
 * returned are the state changes; `more` says another batch is due.
 */
export function expireDueJobs(
  db: Db,
  policy: RetryPolicy,
  now: number,
): Promise<{ changes: Changes; more: boolean }> {
  return inTransaction(db, async (tx) => {
    // Another coordinator may be working through the same due rows: skip the ones it holds.
    const due = await forUpdate(
      tx,
      tx.selectFrom("jobs").selectAll().where("deadline_at", "<=", now).orderBy("deadline_at").limit(500),
      { skipLocked: true },
    ).execute();
    const changes: Changes = { jobs: [], launchers: [] };
    const queued = due.filter((j) => j.state === JobState.QUEUED);
    const unmatched = queued.length > 0 ? await unmatchedJobs(tx, queued, now) : new Set<string>();
    for (const job of due) {
      const changed = await expire(tx, job, unmatched.has(job.id), policy, now);
      if (changed && changed.state !== job.state) changes.jobs.push(changed);
    }
    return { changes, more: due.length === 500 };
  });
}

async function expire(tx: Tx, job: JobRow, unmatched: boolean, policy: RetryPolicy, now: number) {
  const current = tx.updateTable("jobs").where("id", "=", job.id).where("epoch", "=", job.epoch)
    .where("state", "=", job.state);
  switch (job.state) {
    case JobState.OFFERED:
      return await current.set({
        state: JobState.QUEUED,
        offer_poll_id: null,
        failure_reason: FailureReason.OFFER_EXPIRED,
        error: `offer to launcher "${job.launcher_id}" expired before it was accepted`,
        deadline_at: now + job.match_timeout_ms,
        update_time: now,
      }).returningAll().executeTakeFirst();
    case JobState.RUNNING:
      return await stopRunningJob(tx, job, FailureReason.TIMEOUT, now);
    case JobState.RETRY_WAIT:
      return await current.set({ state: JobState.QUEUED, deadline_at: now + job.match_timeout_ms, update_time: now })
        .returningAll().executeTakeFirst();
    case JobState.QUEUED:
      if (!unmatched) {
        return await current.set({ deadline_at: now + job.match_timeout_ms }).returningAll().executeTakeFirst();
      }
      return await endAttempt(tx, job, {
        state: JobState.FAILED,
        reason: FailureReason.NO_MATCHING_LAUNCHER,
        error: `no live launcher matched the job within its match timeout of ${job.match_timeout_ms}ms`,
        exitCode: null,
        result: null,
        executorSessionId: null,
      }, { ...policy, now, revoke: true });
    default:
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
    .where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING]).executeTakeFirst();
  const times = [job?.at, lease?.at].filter((t): t is number => t !== null && t !== undefined).map(Number);
  return times.length > 0 ? Math.min(...times) : null;
}
