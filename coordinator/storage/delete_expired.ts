import { sql } from "kysely";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import type { Db } from "./db/open_database.ts";
import { inTransaction } from "./db/transaction.ts";

/** What has outlived its retention: finished jobs and idle sessions before one time, gone launchers before another. */
export interface Expiry {
  /** Jobs that finished before this, and sessions last changed before it with no job left, are deleted. */
  jobsBefore: number;
  /** Launchers offline or deregistered since before this are deleted. */
  launchersBefore: number;
}

/** How much one step deletes at most: each step is one short transaction. */
const batch = { jobs: 100, events: 2_000, others: 500 };

/** What one step deleted; all zero once nothing is left to delete. */
export interface Deleted {
  jobs: number;
  events: number;
  sessions: number;
  launchers: number;
}

/**
 * Deletes one small batch of what has outlived its retention, in one short
 * transaction, so that deletion never holds the database for long: first the
 * events of the oldest finished jobs (a few thousand rows at a time), then
 * those jobs with their labels, then sessions no job needs any more, then
 * launchers long gone. The caller repeats until a step deletes nothing. A
 * deletion need not be durable: one lost in a power failure is done again.
 * SQLite reuses the pages freed for later rows, so the file stops growing.
 */
export async function deleteExpired(db: Db, e: Expiry): Promise<Deleted> {
  const none = { jobs: 0, events: 0, sessions: 0, launchers: 0 };
  return await inTransaction(db, async (tx) => {
    const ids = (await tx.selectFrom("jobs").select("id").where("finish_time", "is not", null)
      .where("finish_time", "<", e.jobsBefore).orderBy("finish_time").limit(batch.jobs).execute()).map((r) => r.id);
    if (ids.length > 0) {
      const events = await sql`
        DELETE FROM job_events WHERE (job_id, event_offset) IN (
          SELECT job_id, event_offset FROM job_events WHERE job_id IN (${sql.join(ids)}) LIMIT ${batch.events})`
        .execute(tx);
      const deletedEvents = Number(events.numAffectedRows ?? 0);
      if (deletedEvents === batch.events) return { ...none, events: deletedEvents };
      await tx.deleteFrom("job_labels").where("job_id", "in", ids).execute();
      const jobs = await tx.deleteFrom("jobs").where("id", "in", ids).executeTakeFirst();
      return { ...none, events: deletedEvents, jobs: Number(jobs.numDeletedRows) };
    }
    const sessions = await tx.deleteFrom("sessions").where("id", "in", (eb) =>
      eb.selectFrom("sessions as s").select("s.id").where("s.update_time", "<", e.jobsBefore)
        .where((w) => w.not(w.exists(w.selectFrom("jobs").select("jobs.id").whereRef("jobs.session_id", "=", "s.id"))))
        .limit(batch.others)
    ).executeTakeFirst();
    const launchers = await tx.deleteFrom("launchers").where("id", "in", (eb) =>
      eb.selectFrom("launchers as l").select("l.id")
        .where("l.state", "in", [LauncherState.OFFLINE, LauncherState.DEREGISTERED])
        .where("l.update_time", "<", e.launchersBefore).limit(batch.others)
    ).executeTakeFirst();
    return { ...none, sessions: Number(sessions.numDeletedRows), launchers: Number(launchers.numDeletedRows) };
  }, { durable: false });
}
