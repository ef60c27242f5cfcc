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
