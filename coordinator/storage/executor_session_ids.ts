import type { Db } from "./db/open_database.ts";

/** The executor's own session ids of these sessions, for resume offers. */
export async function executorSessionIds(db: Db, ids: readonly string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom("sessions").select(["id", "executor_session_id"]).where("id", "in", ids).execute();
  return new Map(rows.map((r) => [r.id, r.executor_session_id]));
}
