import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { heldStates } from "../domain/job_states.ts";
import { registeredStates } from "../domain/launcher_slots.ts";
import { findOrphans } from "../domain/orphans.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { loadLauncher } from "./load_launcher.ts";
import { endOrphans } from "./end_orphans.ts";

export interface HeartbeatResult {
  /** Null when the launcher is no longer registered (offline or deregistered). */
  launcher: LauncherRow | null;
  cancelJobIds: string[];
  staleJobIds: string[];
}

export interface HeartbeatParams {
  launcherId: string;
  /** Each job the launcher runs, with the epoch its fencing token stands for. */
  running: readonly { jobId: string; epoch: number }[];
  leaseMs: number;
  /** An attempt younger than this may not be in the launcher's list yet (see orphanGraceMs). */
  orphanGraceMs: number;
}

/**
 * Renews a live launcher's lease and reconciles the jobs it says it runs
 * with the jobs it holds. Those it runs under a token it no longer holds are
 * stale: it must kill them. Those it holds but no longer runs end
 * LAUNCHER_LOST and are retried (see findOrphans), instead of waiting for a timeout.
 */
export async function heartbeat(
  db: Db,
  p: HeartbeatParams,
  policy: RetryPolicy,
  now: number,
): Promise<Written<HeartbeatResult>> {
  // A lease lost in a power failure costs nothing: every lease is extended when the coordinator starts.
  const launcher = await inTransaction(db, (tx) =>
    tx.updateTable("launchers").set({ lease_expires_at: now + p.leaseMs })
      .where("id", "=", p.launcherId).where("state", "in", registeredStates)
      .returningAll().executeTakeFirst(), { durable: false });
  if (!launcher) {
    await loadLauncher(db, p.launcherId); // NOT_FOUND when it never registered
    return written({ launcher: null, cancelJobIds: [], staleJobIds: p.running.map((r) => r.jobId) });
  }
  const held = await db.selectFrom("jobs").select(["id", "launcher_id", "state", "epoch", "start_time"])
    .where("launcher_id", "=", p.launcherId)
    .where("state", "in", heldStates).execute();
  const epochs = new Map(held.map((j) => [j.id, j.epoch]));
  const orphans = findOrphans(held, p.running, p.orphanGraceMs, now);
  const ended = await endOrphans(db, orphans, policy, now);
  return written({
    launcher,
    cancelJobIds: held.filter((j) => j.state === JobState.CANCELLING && !orphans.includes(j)).map((j) => j.id),
    staleJobIds: p.running.filter((r) => epochs.get(r.jobId) !== r.epoch).map((r) => r.jobId),
  }, { ...ended.changes, leases: [launcher.lease_expires_at] });
}
