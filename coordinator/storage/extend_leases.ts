import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { registeredStates } from "../domain/launcher_slots.ts";
import type { Db } from "./db/open_database.ts";

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
