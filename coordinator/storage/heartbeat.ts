import { FailureReason, JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { endAttempt, type RetryPolicy } from "./end_attempt.ts";
import { loadLauncher } from "./launchers.ts";
import { loadJobForUpdate } from "./load_job.ts";
import type { Db } from "./open_database.ts";
import type { JobRow, LauncherRow } from "./rows.ts";
import { inTransaction } from "./transaction.ts";

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
  running: readonly { jobId: string; fencingToken: string }[];
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
  const launcher = await db.updateTable("launchers").set({ lease_expires_at: now + p.leaseMs })
    .where("id", "=", p.launcherId).where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING])
    .returningAll().executeTakeFirst();
  if (!launcher) {
    await loadLauncher(db, p.launcherId); // NOT_FOUND when it never registered
    return { launcher: null, cancelJobIds: [], staleJobIds: p.running.map((r) => r.jobId), orphaned: [] };
  }
  const held = await db.selectFrom("jobs").select(["id", "state", "epoch", "start_time"])
    .where("launcher_id", "=", p.launcherId)
    .where("state", "in", [JobState.OFFERED, JobState.RUNNING, JobState.CANCELLING]).execute();
  const tokens = new Map(held.map((j) => [j.id, String(j.epoch)]));
  const listed = new Set(p.running.map((r) => r.jobId));
  const orphans = held.filter((j) =>
    j.state !== JobState.OFFERED && !listed.has(j.id) && (j.start_time ?? now) < now - p.orphanGraceMs
  );
  const orphaned = orphans.length === 0 ? [] : await inTransaction(db, async (tx) => {
    const ended: JobRow[] = [];
    for (const orphan of orphans) {
      const job = await loadJobForUpdate(tx, orphan.id);
      if (job.launcher_id !== p.launcherId || job.epoch !== orphan.epoch || job.state !== orphan.state) continue;
      ended.push(await endAttempt(tx, job, {
        state: JobState.FAILED,
        reason: FailureReason.LAUNCHER_LOST,
        error: `launcher "${p.launcherId}" no longer runs attempt ${job.attempt} (not in its heartbeat)`,
        exitCode: null,
        result: null,
        executorSessionId: null,
      }, { ...policy, now, revoke: true }));
    }
    return ended;
  });
  return {
    launcher,
    cancelJobIds: held.filter((j) => j.state === JobState.CANCELLING && !orphans.includes(j)).map((j) => j.id),
    staleJobIds: p.running.filter((r) => tokens.get(r.jobId) !== r.fencingToken).map((r) => r.jobId),
    orphaned,
  };
}
