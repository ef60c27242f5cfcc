import { JobType } from "../../gen/tether/v1/job_pb.ts";
import type { JobRequirements, LauncherTraits } from "../domain/matching.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow, LauncherRow } from "./db/rows.ts";
import type { Tx } from "./db/transaction.ts";

export function launcherTraits(row: LauncherRow): LauncherTraits {
  return {
    id: row.id,
    hostname: row.hostname,
    executors: JSON.parse(row.executors) as string[],
    labels: JSON.parse(row.labels) as Record<string, string>,
  };
}

/** The requirements of jobs, with the session holder of each resume looked up. */
export async function jobRequirements(db: Db | Tx, jobs: readonly JobRow[]): Promise<Map<string, JobRequirements>> {
  const sessionIds = jobs.filter((j) => j.type === JobType.RESUME_SESSION).map((j) => j.session_id!);
  const holders = new Map<string, string | null>();
  if (sessionIds.length > 0) {
    const rows = await db.selectFrom("sessions").select(["id", "launcher_id"]).where("id", "in", sessionIds).execute();
    for (const r of rows) holders.set(r.id, r.launcher_id);
  }
  return new Map(jobs.map((j) => [j.id, {
    executor: j.executor,
    labels: JSON.parse(j.labels) as Record<string, string>,
    targetLauncherId: j.target_launcher_id,
    targetHostname: j.target_hostname,
    ...(j.type === JobType.RESUME_SESSION ? { sessionLauncherId: holders.get(j.session_id!) ?? null } : {}),
  }]));
}
