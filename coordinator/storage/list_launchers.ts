import { heldStates } from "../domain/job_states.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";

export type LauncherWithLoad = LauncherRow & { active_jobs: number };

/** Launchers by host and name, each with the number of jobs it holds. */
export async function listLaunchers(db: Db, states: number[]): Promise<LauncherWithLoad[]> {
  let query = db.selectFrom("launchers").selectAll("launchers")
    .select((eb) =>
      eb.selectFrom("jobs").select((e) => e.fn.countAll<number>().as("n"))
        .whereRef("jobs.launcher_id", "=", "launchers.id")
        .where("jobs.state", "in", heldStates)
        .as("active_jobs")
    )
    .orderBy("hostname").orderBy("name");
  if (states.length > 0) query = query.where("state", "in", states);
  const rows = await query.execute();
  return rows.map((r) => ({ ...r, active_jobs: Number(r.active_jobs ?? 0) }));
}
