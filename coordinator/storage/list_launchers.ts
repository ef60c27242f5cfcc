import { heldStates } from "../domain/job_states.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";

export type LauncherWithLoad = LauncherRow & { active_jobs: number };

export interface LauncherFilter {
  states: number[];
  /** The page cursor: only launchers after this (hostname, name). */
  after: { hostname: string; name: string } | null;
  limit: number;
}

/** Launchers by host and name, a page at a time, each with the number of jobs it holds. */
export async function listLaunchers(db: Db, f: LauncherFilter): Promise<LauncherWithLoad[]> {
  let query = db.selectFrom("launchers").selectAll("launchers")
    .select((eb) =>
      eb.selectFrom("jobs").select((e) => e.fn.countAll<number>().as("n"))
        .whereRef("jobs.launcher_id", "=", "launchers.id")
        .where("jobs.state", "in", heldStates)
        .as("active_jobs")
    )
    .orderBy("hostname").orderBy("name").limit(f.limit);
  if (f.states.length > 0) query = query.where("state", "in", f.states);
  const after = f.after;
  if (after !== null) {
    query = query.where((eb) =>
      eb.or([
        eb("hostname", ">", after.hostname),
        eb.and([eb("hostname", "=", after.hostname), eb("name", ">", after.name)]),
      ])
    );
  }
  const rows = await query.execute();
  return rows.map((r) => ({ ...r, active_jobs: Number(r.active_jobs ?? 0) }));
}
