import { sql } from "kysely";
import { FailureReason, JobState, JobType } from "../../gen/tether/v1/job_pb.ts";
import { checkFencing } from "../domain/check_fencing.ts";
import { failedPrecondition } from "../domain/errors.ts";
import { sessionStateFor } from "../domain/job_states.ts";
import type { AttemptReport } from "../domain/reports.ts";
import { jobWritten, type Written } from "./changes.ts";
import { isPostgres } from "./db/dialect.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { loadJobForUpdate } from "./load_job.ts";

export interface AcceptParams extends AttemptReport {
  hostname: string;
}

/**
 * Starts the attempt an offer stands for. Accepting an attempt that is
 * already running under the same token returns it unchanged, so a retried
 * AcceptJob is harmless.
 */
export async function acceptJob(db: Db, p: AcceptParams, now: number): Promise<Written<JobRow>> {
  const started = await acceptInOneStatement(db, p, now);
  if (started) return jobWritten(started, true);
  return await inTransaction(db, async (tx) => {
    const job = await loadJobForUpdate(tx, p.jobId);
    if (job.state === JobState.RUNNING || job.state === JobState.CANCELLING) {
      checkFencing(job, p.launcherId, p.epoch, [job.state]);
      return jobWritten(job, false);
    }
    if (job.state === JobState.QUEUED && job.launcher_id === p.launcherId && job.epoch === p.epoch) {
      throw failedPrecondition(`Cannot accept job "${job.id}": its offer expired and it went back to the queue`);
    }
    checkFencing(job, p.launcherId, p.epoch, [JobState.OFFERED]);
    const running = await tx.updateTable("jobs").set({
      ...attemptStart(now),
      attempt: job.attempt + 1,
      deadline_at: job.timeout_ms === null ? null : now + job.timeout_ms,
    }).where("id", "=", job.id).returningAll().executeTakeFirstOrThrow();
    if (job.session_id !== null) {
      const startOver = job.type === JobType.START_SESSION ? { executor_session_id: null } : {};
      await tx.updateTable("sessions").set({ ...startOver, ...sessionTurn(p, now), last_job_id: job.id })
        .where("id", "=", job.session_id).execute();
    }
    return jobWritten(running, true);
  });
}

/**
 * The fast path of the usual accept, on PostgreSQL: one statement (one
 * round trip, where the transaction above takes four). The job goes from
 * OFFERED to RUNNING only if this launcher holds the offer under this
 * token, and its session follows. The UPDATE re-checks its condition on the
 * row as it is when it locks it, so a concurrent change cannot slip between
 * check and write. Anything else (a retry, a stale token, an expired offer)
 * returns nothing and takes the transaction, which says what is wrong.
 * SQLite has no round trips to save: always nothing there.
 */
async function acceptInOneStatement(db: Db, p: AcceptParams, now: number): Promise<JobRow | undefined> {
  if (!isPostgres(db)) return undefined;
  return await db
    .with("running", (qb) =>
      qb.updateTable("jobs").set({
        ...attemptStart(now),
        attempt: (eb) => eb("attempt", "+", 1),
        // NULL without a timeout.
        deadline_at: sql<number | null>`${now}::bigint + timeout_ms`,
      }).where("id", "=", p.jobId).where("state", "=", JobState.OFFERED).where("launcher_id", "=", p.launcherId)
        .where("epoch", "=", p.epoch).returningAll())
    .with("session", (qb) =>
      qb.updateTable("sessions").from("running").set((eb) => ({
        // A new session's first turn starts over; a resumed one keeps the executor's session id.
        executor_session_id: eb.case().when("running.type", "=", JobType.START_SESSION).then(null)
          .else(eb.ref("sessions.executor_session_id")).end(),
        ...sessionTurn(p, now),
        last_job_id: eb.ref("running.id"),
      })).whereRef("sessions.id", "=", "running.session_id").returning("sessions.id"))
    .selectFrom("running").selectAll().executeTakeFirst();
}

/** What every accepted attempt writes on its job, beside its attempt number and deadline. */
function attemptStart(now: number) {
  return {
    state: JobState.RUNNING,
    offer_poll_id: null,
    start_time: now,
    update_time: now,
    exit_code: null,
    error: "",
    failure_reason: FailureReason.UNSPECIFIED,
  } as const;
}

/** What every accepted attempt writes on its session, beside the job it runs. */
function sessionTurn(p: AcceptParams, now: number) {
  return { state: sessionStateFor(JobState.RUNNING), launcher_id: p.launcherId, hostname: p.hostname, update_time: now };
}
