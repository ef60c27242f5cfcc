import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { registeredStates } from "../domain/launcher_slots.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { endLauncherJobs } from "./end_launcher_jobs.ts";

/** Marks launchers whose lease lapsed OFFLINE and takes their jobs away. */
export function lapseLaunchers(db: Db, policy: RetryPolicy, now: number): Promise<Written<void>> {
  return inTransaction(db, async (tx) => {
    const lapsed = await tx.updateTable("launchers").set({ state: LauncherState.OFFLINE, update_time: now })
      .where("state", "in", registeredStates).where("lease_expires_at", "<=", now)
      .returning("id").execute();
    const jobs: JobRow[] = [];
    for (const { id } of lapsed) {
      jobs.push(...await endLauncherJobs(tx, id, `launcher "${id}" lost its lease`, policy, now));
    }
    return written(undefined, { jobs, launchers: lapsed.map((l) => l.id) });
  });
}

/**
 * Gives every live lease and outstanding offer at least one full period
 * from now. Called at start: time the coordinator was down must not count
 * against launchers, which could not reach it. (The deadline timer looks at
 * everything once the coordinator has started.)
 */
export async function extendLeasesAndOffers(
  db: Db,
  periods: { leaseMs: number; acceptTimeoutMs: number },
  now: number,
): Promise<void> {
  await db.updateTable("launchers").set({ lease_expires_at: now + periods.leaseMs })
    .where("state", "in", registeredStates)
    .where("lease_expires_at", "<", now + periods.leaseMs).execute();
  await db.updateTable("jobs").set({ deadline_at: now + periods.acceptTimeoutMs })
    .where("state", "=", JobState.OFFERED).where("deadline_at", "<", now + periods.acceptTimeoutMs).execute();
}
