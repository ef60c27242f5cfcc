import { registeredStates } from "../domain/launcher_slots.ts";
import { type HeldAttempt } from "../domain/orphans.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import { inTransaction } from "./db/transaction.ts";
import { runningStates } from "../domain/job_states.ts";

/** Ids per statement, well under SQLite's and PostgreSQL's parameter limits. */
const idsPerStatement = 1000;

/**
 * Renews the leases of launchers that heartbeat, in one transaction of one
 * statement per thousand launchers: those still live get `expiresAt`
 * unless they already hold a later one.
 */
export async function renewLeases(db: Db, ids: readonly string[], expiresAt: number): Promise<Written<void>> {
  await inTransaction(db, async (tx) => {
    for (let i = 0; i < ids.length; i += idsPerStatement) {
      await tx.updateTable("launchers").set({ lease_expires_at: expiresAt })
        .where("id", "in", ids.slice(i, i + idsPerStatement))
        .where("state", "in", registeredStates)
        .where("lease_expires_at", "<", expiresAt).execute();
    }
  }, { durable: false });
  return written(undefined, { leases: [expiresAt] });
}

/** The attempts the launchers hold, running or cancelling, for the orphan check. */
export async function heldAttempts(db: Db, ids: readonly string[]): Promise<HeldAttempt[]> {
  const held: HeldAttempt[] = [];
  for (let i = 0; i < ids.length; i += idsPerStatement) {
    held.push(...await db.selectFrom("jobs").select(["id", "launcher_id", "state", "epoch", "start_time"])
      .where("launcher_id", "in", ids.slice(i, i + idsPerStatement))
      .where("state", "in", runningStates).execute());
  }
  return held;
}
