import type { Db } from "./db/open_database.ts";

export interface StoredEvent {
  offset: number;
  attempt: number;
  time: number;
  data: string;
}

/** Up to `limit` events of a job from an offset, in offset order. */
export async function readJobEvents(db: Db, jobId: string, fromOffset: number, limit: number): Promise<StoredEvent[]> {
  const rows = await db.selectFrom("job_events").select(["event_offset", "attempt", "time", "data"])
    .where("job_id", "=", jobId).where("event_offset", ">=", fromOffset)
    .orderBy("event_offset").limit(limit).execute();
  return rows.map((r) => ({ offset: r.event_offset, attempt: r.attempt, time: r.time, data: r.data }));
}
