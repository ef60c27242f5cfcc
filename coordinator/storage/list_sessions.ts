import type { Db } from "./db/open_database.ts";
import type { SessionRow } from "./db/rows.ts";

export interface SessionFilter {
  states: number[];
  launcherId: string | null;
  /** The page cursor: only sessions before this (create_time, id). */
  before: { time: number; id: string } | null;
  limit: number;
}

/** Sessions, newest first. */
export function listSessions(db: Db, f: SessionFilter): Promise<SessionRow[]> {
  let query = db.selectFrom("sessions").selectAll().orderBy("create_time", "desc").orderBy("id", "desc")
    .limit(f.limit);
  if (f.states.length > 0) query = query.where("state", "in", f.states);
  if (f.launcherId !== null) query = query.where("launcher_id", "=", f.launcherId);
  const before = f.before;
  if (before !== null) {
    query = query.where((eb) =>
      eb.or([
        eb("create_time", "<", before.time),
        eb.and([eb("create_time", "=", before.time), eb("id", "<", before.id)]),
      ])
    );
  }
  return query.execute();
}
