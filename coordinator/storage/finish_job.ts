import { JobState } from "../../gen/tether/v1/job_pb.ts";
import type { AttemptOutcome } from "../domain/attempt_end.ts";
import { checkFencing } from "../domain/check_fencing.ts";
import { type AttemptReport, checkEnding, isSameReport } from "../domain/reports.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { jobWritten, type Written } from "./changes.ts";
import { isPostgres } from "./db/dialect.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { attemptEnd, endAttempt, sessionTurnEnd } from "./end_attempt.ts";
import { loadJobForUpdate } from "./load_job.ts";
import { runningStates } from "../domain/job_states.ts";

export interface FinishParams extends AttemptReport {
  outcome: AttemptOutcome;
  /** When set, every event before this offset must be stored already. */
  nextEventOffset: number | null;
}

/**
 * Records a launcher's report that an attempt ended. A repeated report of
 * the same ending (a retry after a lost answer) returns the job unchanged.
 */
export async function finishJob(db: Db, p: FinishParams, policy: RetryPolicy, now: number): Promise<Written<JobRow>> {
  const succeeded = await succeedInOneStatement(db, p, now);
  if (succeeded) return jobWritten(succeeded, true);
  return await inTransaction(db, async (tx) => {
    const job = await loadJobForUpdate(tx, p.jobId);
    if (isSameReport(job, p, p.outcome.state)) return jobWritten(job, false);
    checkFencing(job, p.launcherId, p.epoch, runningStates);
    checkEnding(job, p.outcome.state, p.nextEventOffset);
    return jobWritten(await endAttempt(tx, job, p.outcome, { ...policy, now, revoke: false }), true);
  });
}

/**
 * The fast path of the usual report, a running attempt that succeeded, on
 * PostgreSQL: one statement (one round trip, where the transaction above
 * takes four) writing what endAttempt writes for it, only if this launcher
 * holds the attempt under this token, the job is RUNNING and, when given,
 * the event offset matches. The UPDATE re-checks that on the row as it is
 * when it locks it. Anything else (a repeated report, a stale token, a
 * cancel under way) returns nothing and takes the transaction, which decides
 * or says what is wrong. Always nothing on SQLite, and for other endings.
 */
async function succeedInOneStatement(db: Db, p: FinishParams, now: number): Promise<JobRow | undefined> {
  if (!isPostgres(db) || p.outcome.state !== JobState.SUCCEEDED) return undefined;
  let ending = db.updateTable("jobs").where("id", "=", p.jobId).where("state", "=", JobState.RUNNING)
    .where("launcher_id", "=", p.launcherId).where("epoch", "=", p.epoch);
  if (p.nextEventOffset !== null) ending = ending.where("next_event_offset", "=", p.nextEventOffset);
  return await db
    .with("ended", () => ending.set(attemptEnd(JobState.SUCCEEDED, p.outcome, now, null)).returningAll())
    .with("session", (qb) =>
      qb.updateTable("sessions").from("ended").set(sessionTurnEnd(JobState.SUCCEEDED, p.outcome, now))
        .whereRef("sessions.id", "=", "ended.session_id").whereRef("sessions.last_job_id", "=", "ended.id")
        .returning("sessions.id"))
    .selectFrom("ended").selectAll().executeTakeFirst();
}
