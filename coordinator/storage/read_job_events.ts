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
 * and no more than about `maxChars` of data (the event that crosses it is the
 * page's last; a page always holds at least one event when there is one),
 * so that a watch replaying a long log holds one page in memory, not the log.
 */
export async function readJobEvents(
  db: Db,
  jobId: string,
  fromOffset: number,
  page: { limit: number; maxChars: number },
): Promise<EventPage> {
  const { rows } = await sql<{ event_offset: number; attempt: number; time: number; data: string }>`
    SELECT event_offset, attempt, time, data FROM (
      SELECT event_offset, attempt, time, data, SUM(LENGTH(data)) OVER (ORDER BY event_offset) AS upto
      FROM job_events WHERE job_id = ${jobId} AND event_offset >= ${fromOffset}
      ORDER BY event_offset LIMIT ${page.limit}
    ) page WHERE upto - LENGTH(data) < ${page.maxChars} ORDER BY event_offset`.execute(db);
  const events = rows.map((r) => ({
    offset: Number(r.event_offset),
    attempt: Number(r.attempt),
    time: Number(r.time),
    data: r.data,
  }));
  const chars = events.reduce((n, e) => n + e.data.length, 0);
  // Fewer than the limit and under the budget: the next event, had there been one, would be on this page.
  return { events, more: events.length === page.limit || chars >= page.maxChars };
}
