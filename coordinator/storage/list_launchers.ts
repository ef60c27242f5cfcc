import { setImmediate } from "node:timers/promises";
import { heldStates } from "../domain/job_states.ts";
import type { Db } from "./db/open_database.ts";
import type { LauncherRow } from "./db/rows.ts";

export type LauncherWithLoad = LauncherRow & { active_jobs: number };

export interface LauncherFilter {
  states: number[];
  /** The page cursor: only launchers after this (hostname, name). */
  after: { hostname: string; name: string } | null;
  limit: number;
  /** No more launchers than fit in about this many characters of labels and executors (at least one). */
  withinChars: number;
}

/**
 * Launchers by host and name, a page at a time, each with the number of jobs
 * it holds. Read in chunks with a turn of the event loop between them (on
 * SQLite a read runs on it); the launcher whose labels and executors cross
 * `withinChars` ends the page.
 */
export async function listLaunchers(
  db: Db,
  f: LauncherFilter,
): Promise<{ launchers: LauncherWithLoad[]; more: boolean }> {
  const chunk = 100;
  const launchers: LauncherWithLoad[] = [];
  let chars = 0;
  // A page that is full, or past its budget, may have more after it.
  const page = () => ({ launchers, more: launchers.length === f.limit || chars >= f.withinChars });
  for (let after = f.after; launchers.length < f.limit;) {
    if (launchers.length > 0) await setImmediate();
    const got = await readChunk(db, f.states, after, Math.min(chunk, f.limit - launchers.length));
    for (const row of got) {
      if (launchers.length > 0 && chars >= f.withinChars) return page();
      launchers.push(row);
      chars += row.labels.length + row.executors.length;
    }
    if (got.length < chunk) break;
    after = got.at(-1)!;
  }
  return page();
}

async function readChunk(
  db: Db,
  states: number[],
  after: { hostname: string; name: string } | null,
  limit: number,
): Promise<LauncherWithLoad[]> {
  let query = db.selectFrom("launchers").selectAll("launchers")
    .select((eb) =>
      eb.selectFrom("jobs").select((e) => e.fn.countAll<number>().as("n"))
        .whereRef("jobs.launcher_id", "=", "launchers.id")
        .where("jobs.state", "in", heldStates)
        .as("active_jobs")
    )
    .orderBy("hostname").orderBy("name").limit(limit);
  if (states.length > 0) query = query.where("state", "in", states);
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
