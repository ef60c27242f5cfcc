import type { JsonObject } from "@bufbuild/protobuf";
import { checkFencing } from "../domain/check_fencing.ts";
import { eventOffsetMismatch } from "../domain/errors.ts";
import type { AttemptReport } from "../domain/reports.ts";
import { jobWritten, type Written } from "./changes.ts";
import { loadJobForUpdate } from "./load_job.ts";
import type { Db } from "./db/open_database.ts";
import type { JobRow } from "./db/rows.ts";
import { inTransaction } from "./db/transaction.ts";
import { runningStates } from "../domain/job_states.ts";

export interface AppendParams extends AttemptReport {
  firstOffset: number;
  events: JsonObject[];
  executorSessionId: string | null;
}

/**
 * Appends a batch of events at its offset. Events before the job's next
 * offset were stored already and are skipped, so a resent batch is harmless;
 * a batch that starts past the next offset would leave a gap and is refused
 * with OUT_OF_RANGE and the expected offset. Past the job's byte limit one
 * truncation marker is stored and later events are counted but dropped.
 */
export function appendJobEvents(
  db: Db,
  p: AppendParams,
  maxJobEventBytes: number,
  now: number,
): Promise<Written<JobRow>> {
  return inTransaction(db, async (tx) => {
    const job = await loadJobForUpdate(tx, p.jobId);
    checkFencing(job, p.launcherId, p.epoch, runningStates);
    if (p.firstOffset > job.next_event_offset) {
      throw eventOffsetMismatch(job.id, job.next_event_offset, p.firstOffset);
    }
    const fresh = p.events.slice(job.next_event_offset - p.firstOffset);
    if (fresh.length === 0 && !p.executorSessionId) return jobWritten(job, false);
    let bytes = job.event_bytes;
    const rows = [];
    for (const [i, event] of fresh.entries()) {
      const offset = job.next_event_offset + i;
      const data = JSON.stringify(event);
      if (bytes + data.length <= maxJobEventBytes) {
        bytes += data.length;
        rows.push({ job_id: job.id, event_offset: offset, attempt: job.attempt, time: now, data });
      } else if (bytes <= maxJobEventBytes) {
        bytes = maxJobEventBytes + 1;
        const marker = { type: "truncated", text: `event log truncated at ${maxJobEventBytes} bytes`, offset };
        rows.push({ job_id: job.id, event_offset: offset, attempt: job.attempt, time: now, data: JSON.stringify(marker) });
      }
    }
    for (let i = 0; i < rows.length; i += 200) {
      await tx.insertInto("job_events").values(rows.slice(i, i + 200)).execute();
    }
    const updated = await tx.updateTable("jobs")
      .set({ next_event_offset: job.next_event_offset + fresh.length, event_bytes: bytes, update_time: now })
      .where("id", "=", job.id).returningAll().executeTakeFirstOrThrow();
    if (p.executorSessionId && job.session_id !== null) {
      await tx.updateTable("sessions").set({ executor_session_id: p.executorSessionId, update_time: now })
        .where("id", "=", job.session_id).where("last_job_id", "=", job.id).execute();
    }
    return jobWritten(updated, true);
  });
}
