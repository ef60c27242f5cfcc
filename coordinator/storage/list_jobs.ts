import { setImmediate } from "node:timers/promises";
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

/**
 * Jobs, newest first: the light view, or every field within a budget of
 * characters (see JobFilter). Read in chunks with a turn of the event loop
 * between them: on SQLite a read runs on the event loop, and a page of big
 * rows (a light view's columns too are read past a large parameters value)
 * would otherwise hold it for the whole page.
 */
export async function listJobs(db: Db, f: JobFilter): Promise<{ jobs: JobRow[]; more: boolean }> {
  const chunk = f.fullWithin === null ? 100 : 8;
  const jobs: JobRow[] = [];
  let chars = 0;
  // A page that is full, or past its budget, may have more after it.
  const page = () => ({ jobs, more: jobs.length === f.limit || (f.fullWithin !== null && chars >= f.fullWithin) });
  for (let beforeSeq = f.beforeSeq; jobs.length < f.limit;) {
    if (jobs.length > 0) await setImmediate();
    const got = await readChunk(db, f, beforeSeq, Math.min(chunk, f.limit - jobs.length));
    for (const row of got) {
      // The job that crosses the budget is the page's last: its predecessors' sizes are under it.
      if (f.fullWithin !== null && jobs.length > 0 && chars >= f.fullWithin) return page();
      jobs.push(row);
      chars += (row.parameters?.length ?? 0) + (row.result?.length ?? 0);
    }
    if (got.length < chunk) break;
    beforeSeq = got.at(-1)!.seq;
  }
  return page();
}

function readChunk(db: Db, f: JobFilter, beforeSeq: number | null, limit: number): Promise<JobRow[]> {
  let query = db.selectFrom("jobs").orderBy("seq", "desc").limit(limit);
  if (f.states.length > 0) query = query.where("state", "in", f.states);
  if (f.sessionId !== null) query = query.where("session_id", "=", f.sessionId);
  if (f.launcherId !== null) query = query.where("launcher_id", "=", f.launcherId);
  if (beforeSeq !== null) query = query.where("seq", "<", beforeSeq);
  if (f.fullWithin !== null) return query.selectAll().execute();
  return query.select(lightColumns)
    .select([sql<string>`NULL`.as("parameters"), sql<string | null>`NULL`.as("result")]).execute();
}
