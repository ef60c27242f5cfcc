import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { heldStates } from "../domain/job_states.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { endAttempt, type RetryPolicy } from "./end_attempt.ts";
import { loadLauncher } from "./launchers.ts";
import { loadJobForUpdate } from "./load_job.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow, LauncherRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";

export interface HeartbeatResult {
  /** Null when the launcher is no longer registered (offline or deregistered). */
  launcher: LauncherRow | null;
  cancelJobIds: string[];
  staleJobIds: string[];
  /** Attempts the launcher no longer runs, ended LAUNCHER_LOST. */
  orphaned: JobRow[];
}

export interface HeartbeatParams {
  launcherId: string;
  /** Each job the launcher runs, with the epoch its fencing token stands for. */
  running: readonly { jobId: string; epoch: number }[];
  leaseMs: number;
  /** An attempt younger than this may not be in the launcher's list yet (its AcceptJob answer is in flight). */
  orphanGraceMs: number;
}

/**
 * Renews a live launcher's lease and reconciles the jobs it says it runs
 * with the jobs it holds. Those it runs under a token it no longer holds are
 * stale: it must kill them. Those it holds but no longer runs (it lost track
 * of an attempt, say after an AcceptJob answer it never saw) end
 * LAUNCHER_LOST and are retried, instead of waiting for a timeout.
 */
export async function heartbeat(db: Db, p: HeartbeatParams, policy: RetryPolicy, now: number): Promise<HeartbeatResult> {
  // A lease lost in a power failure costs nothing: every lease is extended when the coordinator starts.
  const launcher = await inTransaction(db, (tx) =>
    tx.updateTable("launchers").set({ lease_expires_at: now + p.leaseMs })
      .where("id", "=", p.launcherId).where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING])
      .returningAll().executeTakeFirst(), { durable: false });
  if (!launcher) {
    await loadLauncher(db, p.launcherId); // NOT_FOUND when it never registered
    return { launcher: null, cancelJobIds: [], staleJobIds: p.running.map((r) => r.jobId), orphaned: [] };
  }
  const held = await db.selectFrom("jobs").select(["id", "launcher_id", "state", "epoch", "start_time"])
    .where("launcher_id", "=", p.launcherId)
    .where("state", "in", heldStates).execute();
  const epochs = new Map(held.map((j) => [j.id, j.epoch]));
  const orphans = findOrphans(held, p.running, p.orphanGraceMs, now);
  const orphaned = await endOrphans(db, orphans, policy, now);
  return {
    launcher,
    cancelJobIds: held.filter((j) => j.state === JobState.CANCELLING && !orphans.includes(j)).map((j) => j.id),
    staleJobIds: p.running.filter((r) => epochs.get(r.jobId) !== r.epoch).map((r) => r.jobId),
    orphaned,
  };
}

/** An attempt a launcher holds, as the orphan check needs it. */
export interface HeldAttempt {
  id: string;
  launcher_id: string | null;
  state: JobState;
  epoch: number;
  start_time: number | null;
}

/**
 * How young an attempt may be and still be missing from its launcher's
 * heartbeat: its AcceptJob answer may be in flight for up to about one
 * heartbeat period, so two periods.
 */
export function orphanGraceMs(heartbeatIntervalMs: number): number {
  return 2 * heartbeatIntervalMs;
}

/**
 * The attempts a launcher holds but did not list as running. An attempt
 * younger than the grace may simply not be in the list yet.
 */
export function findOrphans(
  held: readonly HeldAttempt[],
  running: readonly { jobId: string }[],
  graceMs: number,
  now: number,
): HeldAttempt[] {
  const listed = new Set(running.map((r) => r.jobId));
  return held.filter((j) => j.state !== JobState.OFFERED && !listed.has(j.id) && (j.start_time ?? now) < now - graceMs);
}

/** Ends attempts their launcher no longer runs LAUNCHER_LOST (retried per policy), unless they moved on meanwhile. */
export async function endOrphans(db: Db, orphans: readonly HeldAttempt[], policy: RetryPolicy, now: number): Promise<JobRow[]> {
  if (orphans.length === 0) return [];
  return await inTransaction(db, async (tx) => {
    const ended: JobRow[] = [];
    for (const orphan of orphans) {
      const job = await loadJobForUpdate(tx, orphan.id);
      if (job.launcher_id !== orphan.launcher_id || job.epoch !== orphan.epoch || job.state !== orphan.state) continue;
      ended.push(await endAttempt(tx, job, {
        state: JobState.FAILED,
        reason: FailureReason.LAUNCHER_LOST,
        error: `launcher "${orphan.launcher_id}" no longer runs attempt ${job.attempt} (not in its heartbeat)`,
        exitCode: null,
        result: null,
        executorSessionId: null,
      }, { ...policy, now, revoke: true }));
    }
    return ended;
  });
}

/** Ids per statement, well under SQLite's and PostgreSQL's parameter limits. */
const idsPerStatement = 1000;

/**
 * Renews the leases of launchers that heartbeat, in one transaction of one
 * statement per thousand launchers: those still live get `expiresAt`
 * unless they already hold a later one.
 */
export async function renewLeases(db: Db, ids: readonly string[], expiresAt: number): Promise<void> {
  await inTransaction(db, async (tx) => {
    for (let i = 0; i < ids.length; i += idsPerStatement) {
      await tx.updateTable("launchers").set({ lease_expires_at: expiresAt })
        .where("id", "in", ids.slice(i, i + idsPerStatement))
        .where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING])
        .where("lease_expires_at", "<", expiresAt).execute();
    }
  }, { durable: false });
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
