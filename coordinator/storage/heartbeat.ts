import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { coordinatorFailure } from "../domain/attempt_end.ts";
import { heldStates } from "../domain/job_states.ts";
import { registeredStates } from "../domain/launcher_slots.ts";
import { findOrphans, type HeldAttempt } from "../domain/orphans.ts";
import type { RetryPolicy } from "../domain/retry.ts";
import { type Written, written } from "./changes.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { endAttempt } from "./end_attempt.ts";
import { loadLauncher } from "./load_launcher.ts";
import { loadJobForUpdate } from "./load_job.ts";

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

/** Ends attempts their launcher no longer runs LAUNCHER_LOST (retried per policy), unless they moved on meanwhile. */
export async function endOrphans(
  db: Db,
  orphans: readonly HeldAttempt[],
  policy: RetryPolicy,
  now: number,
): Promise<Written<void>> {
  if (orphans.length === 0) return written(undefined);
  const jobs = await inTransaction(db, async (tx) => {
    const ended = [];
    for (const orphan of orphans) {
      const job = await loadJobForUpdate(tx, orphan.id);
      if (job.launcher_id !== orphan.launcher_id || job.epoch !== orphan.epoch || job.state !== orphan.state) continue;
      const why = `launcher "${orphan.launcher_id}" no longer runs attempt ${job.attempt} (not in its heartbeat)`;
      ended.push(await endAttempt(tx, job, coordinatorFailure(FailureReason.LAUNCHER_LOST, why), {
        ...policy,
        now,
        revoke: true,
      }));
    }
    return ended;
  });
  return written(undefined, { jobs });
}

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
      .where("state", "in", [JobState.RUNNING, JobState.CANCELLING]).execute());
  }
  return held;
}
