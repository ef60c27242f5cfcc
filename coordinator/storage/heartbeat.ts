import { JobState } from "../../gen/tether/v1/job_pb.ts";
import { LauncherState } from "../../gen/tether/v1/launcher_pb.ts";
import { loadLauncher } from "./launchers.ts";
import type { Db } from "./open_database.ts";
import type { LauncherRow } from "./rows.ts";

export interface HeartbeatResult {
  /** Null when the launcher is no longer registered (offline or deregistered). */
  launcher: LauncherRow | null;
  cancelJobIds: string[];
  staleJobIds: string[];
}

/**
 * Renews a live launcher's lease and checks the jobs it says it runs: those
 * it no longer holds under the token it has are stale, and it must kill them.
 */
export async function heartbeat(
  db: Db,
  id: string,
  running: readonly { jobId: string; fencingToken: string }[],
  leaseMs: number,
  now: number,
): Promise<HeartbeatResult> {
  const launcher = await db.updateTable("launchers").set({ lease_expires_at: now + leaseMs })
    .where("id", "=", id).where("state", "in", [LauncherState.ONLINE, LauncherState.DRAINING])
    .returningAll().executeTakeFirst();
  if (!launcher) {
    await loadLauncher(db, id); // NOT_FOUND when it never registered
    return { launcher: null, cancelJobIds: [], staleJobIds: running.map((r) => r.jobId) };
  }
  const held = await db.selectFrom("jobs").select(["id", "state", "epoch"]).where("launcher_id", "=", id)
    .where("state", "in", [JobState.OFFERED, JobState.RUNNING, JobState.CANCELLING]).execute();
  const tokens = new Map(held.map((j) => [j.id, String(j.epoch)]));
  return {
    launcher,
    cancelJobIds: held.filter((j) => j.state === JobState.CANCELLING).map((j) => j.id),
    staleJobIds: running.filter((r) => tokens.get(r.jobId) !== r.fencingToken).map((r) => r.jobId),
  };
}
