import { notFound } from "../domain/errors.ts";
import type { Db } from "./db/open_database.ts";
import type { SessionRow } from "./db/rows.ts";

export async function loadSession(db: Db, id: string): Promise<SessionRow> {
  const row = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound(`session "${id}" not found`);
  return row;
}

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

/** The executor's own session ids of these sessions, for resume offers. */
export async function executorSessionIds(db: Db, ids: readonly string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom("sessions").select(["id", "executor_session_id"]).where("id", "in", ids).execute();
  return new Map(rows.map((r) => [r.id, r.executor_session_id]));
}
