import { sql } from "kysely";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import type { JobTable } from "./db/schema.ts";

export interface JobFilter {
  states: number[];
  sessionId: string | null;
  launcherId: string | null;
  /** Only jobs older than this sequence number (the page cursor). */
  beforeSeq: number | null;
  limit: number;
  /**
   * With every field, and then no more jobs than fit in about this many
   * characters of parameters and results (at least one job); null: without
   * parameters and results (they read as absent).
   */
  fullWithin: number | null;
}

/** The columns of a job but its parameters and result, which may be large. */
const lightColumns = [
  "seq", "id", "type", "state", "executor", "project_dir", "session_id", "labels", "metadata", "priority", "attempt",
  "max_attempts", "retry_job_failures", "launcher_id", "target_launcher_id", "target_hostname", "concurrency_key",
  "concurrency_limit", "idempotency_key", "request_digest", "timeout_ms", "match_timeout_ms", "epoch",
  "offer_poll_id", "deadline_at", "stop_reason", "exit_code", "failure_reason", "error", "next_event_offset",
  "event_bytes", "create_time", "update_time", "start_time", "finish_time",
] as const satisfies readonly (keyof JobTable)[];
// A column added to the table and not to the list above fails to compile here.
const everyColumn: Exclude<keyof JobTable, (typeof lightColumns)[number] | "parameters" | "result"> extends never
  ? true
  : never = true;
void everyColumn;

/** Jobs, newest first: the light view, or every field within a budget of characters (see JobFilter). */
export async function listJobs(db: Db, f: JobFilter): Promise<JobRow[]> {
  let query = db.selectFrom("jobs").orderBy("seq", "desc").limit(f.limit);
  if (f.states.length > 0) query = query.where("state", "in", f.states);
  if (f.sessionId !== null) query = query.where("session_id", "=", f.sessionId);
  if (f.launcherId !== null) query = query.where("launcher_id", "=", f.launcherId);
  if (f.beforeSeq !== null) query = query.where("seq", "<", f.beforeSeq);
  if (f.fullWithin === null) {
    return await query.select(lightColumns)
      .select([sql<string>`NULL`.as("parameters"), sql<string | null>`NULL`.as("result")]).execute();
  }
  const size = sql<number>`LENGTH(parameters) + COALESCE(LENGTH(result), 0)`;
  // The job that crosses the budget is the page's last: its predecessors' sizes are under it.
  const sized = query.selectAll()
    .select([size.as("size"), sql<number>`SUM(${size}) OVER (ORDER BY seq DESC)`.as("upto")]);
  const rows = await db.selectFrom(sized.as("page")).selectAll()
    .where(sql<boolean>`upto - size < ${f.fullWithin}`).orderBy("seq", "desc").execute();
  return rows.map(({ size: _size, upto: _upto, ...job }) => job);
}
