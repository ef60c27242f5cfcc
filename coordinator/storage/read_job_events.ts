import { sql } from "kysely";
import type { Db } from "./db/open_database.ts";

export interface StoredEvent {
  offset: number;
  attempt: number;
  time: number;
  data: string;
}

/** A page of a job's events, and whether more may follow it. */
export interface EventPage {
  events: StoredEvent[];
  more: boolean;
}

/**
 * A job's events from an offset, in offset order: at most `limit` of them,
 * and no more than about `maxBytes` of data (the event that crosses it is the
 * page's last; a page always holds at least one event when there is one),
 * so that a watch replaying a long log holds one page in memory, not the log.
 * The page is chosen by the events' sizes first (octet_length, which neither
 * SQLite nor PostgreSQL reads the data for), and only its own data is read.
 */
export async function readJobEvents(
  db: Db,
  jobId: string,
  fromOffset: number,
  page: { limit: number; maxBytes: number },
): Promise<EventPage> {
  const sizes = await db.selectFrom("job_events")
    .select(["event_offset", sql<number>`octet_length(data)`.as("bytes")])
    .where("job_id", "=", jobId).where("event_offset", ">=", fromOffset)
    .orderBy("event_offset").limit(page.limit).execute();
  let bytes = 0;
  let taken = 0;
  while (taken < sizes.length && (taken === 0 || bytes < page.maxBytes)) bytes += Number(sizes[taken++]!.bytes);
  if (taken === 0) return { events: [], more: false };
  const rows = await db.selectFrom("job_events").select(["event_offset", "attempt", "time", "data"])
    .where("job_id", "=", jobId).where("event_offset", ">=", fromOffset)
    .where("event_offset", "<=", Number(sizes[taken - 1]!.event_offset))
    .orderBy("event_offset").execute();
  const events = rows.map((r) => ({
    offset: Number(r.event_offset),
    attempt: Number(r.attempt),
    time: Number(r.time),
    data: r.data,
  }));
  // Fewer than the limit and all of them taken: the next event, had there been one, would be on this page.
  return { events, more: sizes.length === page.limit || taken < sizes.length };
}
